using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class Embedding
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> table, ReadOnlySpan<int> ids, Span<T> output, int vocab, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Embedding.ForwardReference", table.Length, "table", ids, output.Length, "output", vocab, channels);
        for (int i = 0; i < ids.Length; i++)
            for (int c = 0; c < channels; c++)
                output[i * channels + c] = table[ids[i] * channels + c];
    }

    /// <summary>Scalar reference of <see cref="Backward{T}"/>: each touched row gets the double sum of its gradients, added once.</summary>
    public static void BackwardReference<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<int> ids, Span<T> dTable, int vocab, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Embedding.BackwardReference", dTable.Length, "dTable", ids, dOutput.Length, "dOutput", vocab, channels);
        var sums = new Dictionary<int, double[]>();
        for (int i = 0; i < ids.Length; i++)
        {
            if (!sums.TryGetValue(ids[i], out var sum)) sums[ids[i]] = sum = new double[channels];
            for (int c = 0; c < channels; c++) sum[c] += double.CreateChecked(dOutput[i * channels + c]);
        }
        foreach (var (id, sum) in sums)
            for (int c = 0; c < channels; c++)
                dTable[id * channels + c] = T.CreateChecked(double.CreateChecked(dTable[id * channels + c]) + sum[c]);
    }
}

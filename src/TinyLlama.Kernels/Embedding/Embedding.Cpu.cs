using System.Numerics;

namespace TinyLlama.Kernels;

/// <summary>Embedding lookup: output row i = table row ids[i]. table (V, C), ids (N), output (N, C).</summary>
public static partial class Embedding
{
    /// <summary>Throws ArgumentOutOfRangeException naming the position and id when an id is outside [0, V).</summary>
    public static void Forward<T>(ReadOnlySpan<T> table, ReadOnlySpan<int> ids, Span<T> output, int vocab, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>Scatter-add: dTable[ids[i]] += dOutput[i] (accumulates; repeated ids add up).</summary>
    public static void Backward<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<int> ids, Span<T> dTable, int vocab, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

using System.Numerics;
using System.Numerics.Tensors;

namespace TinyLlama.Kernels;

/// <summary>
/// Embedding lookup: output row i = table row ids[i]. table (V, C), ids (N), output (N, C).
/// Backward is the scatter-add dTable[ids[i]] += dOutput[i]; it is the transpose of the gather.
/// </summary>
public static partial class Embedding
{
    /// <summary>Channels per work item in backward: whole cache lines, and enough of them to amortise the hand-off.</summary>
    const int ChannelBlock = 64;

    /// <summary>Throws ArgumentOutOfRangeException naming the position and id when an id is outside [0, V).</summary>
    public static unsafe void Forward<T>(ReadOnlySpan<T> table, ReadOnlySpan<int> ids, Span<T> output, int vocab, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Embedding.Forward", table.Length, "table", ids, output.Length, "output", vocab, channels);
        fixed (T* pt = table, po = output)
        fixed (int* pi = ids)
        {
            T* ts = pt, os = po;
            int* idx = pi;
            CpuParallel.For(ids.Length, 2L * channels, (start, end) =>
            {
                for (int i = start; i < end; i++)
                    new ReadOnlySpan<T>(ts + (long)idx[i] * channels, channels).CopyTo(new Span<T>(os + (long)i * channels, channels));
            });
        }
    }

    /// <summary>Scatter-add: dTable[ids[i]] += dOutput[i] (accumulates; repeated ids add up).</summary>
    public static unsafe void Backward<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<int> ids, Span<T> dTable, int vocab, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Embedding.Backward", dTable.Length, "dTable", ids, dOutput.Length, "dOutput", vocab, channels);
        int blocks = (channels + ChannelBlock - 1) / ChannelBlock;
        fixed (T* pd = dOutput, pt = dTable)
        fixed (int* pi = ids)
        {
            T* ds = pd, ts = pt;
            int* idx = pi;
            int n = ids.Length;
            // Threads own disjoint channel ranges, so two positions with the same id never race, and every
            // row of dTable receives its additions in position order (deterministic results).
            CpuParallel.For(blocks, 2L * n * ChannelBlock, (first, last) =>
            {
                int c0 = first * ChannelBlock, width = Math.Min(last * ChannelBlock, channels) - c0;
                for (int i = 0; i < n; i++)
                {
                    var row = new Span<T>(ts + (long)idx[i] * channels + c0, width);
                    TensorPrimitives.Add(row, new ReadOnlySpan<T>(ds + (long)i * channels + c0, width), row);
                }
            });
        }
    }

    /// <summary>Checks lengths and every id on the calling thread, before anything is written.</summary>
    static void Check(string op, int tableLength, string tableName, ReadOnlySpan<int> ids, int rowsLength, string rowsName,
        int vocab, int channels)
    {
        KernelArgs.Positive(op, "vocab", vocab);
        KernelArgs.Positive(op, "channels", channels);
        KernelArgs.Length(op, tableName, tableLength, (long)vocab * channels, "vocab·channels");
        KernelArgs.Length(op, rowsName, rowsLength, (long)ids.Length * channels, "ids.Length·channels");
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"{op}: id {ids[i]} at position {i} is outside [0, {vocab})");
    }
}

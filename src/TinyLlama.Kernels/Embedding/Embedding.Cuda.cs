using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Embedding gather and scatter-add on the GPU, with the argument meaning of <see cref="Embedding.Forward{T}"/> and
/// <see cref="Embedding.Backward{T}"/>: table (vocab, channels), ids (n), rows (n, channels).
/// The ids live on the device, so they are not checked on the host (that would cost a copy and a sync per step).
/// Instead an out-of-range id is harmless: the forward writes NaN into its row (the loss shows it at once) and
/// the backward skips it; nothing is read or written outside the buffers.
/// </summary>
public static class EmbeddingKernels
{
    /// <summary>
    /// output[i, c] = table[ids[i], c]. Layout: one group per row (grid-stride over rows), the threads stride over the
    /// channels, so a warp reads and writes 32 consecutive elements. Traffic per element: sizeof(T) read +
    /// sizeof(T) written (+ 4 bytes of id per row).
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Forward<T, TElement>(ArrayView<T> table, ArrayView<int> ids, ArrayView<T> output, int vocab, int channels)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        int n = (int)ids.Length;
        for (int row = Grid.IdxX; row < n; row += Grid.DimX)
        {
            int id = ids[row];
            long dst = (long)row * channels;
            // Two loops rather than a select, so no load from the table is ever issued for a bad id.
            if ((uint)id < (uint)vocab)
            {
                long src = (long)id * channels;
                for (int c = Group.IdxX; c < channels; c += Group.DimX) output[dst + c] = table[src + c];
            }
            else
            {
                T nan = default(TElement).Narrow(float.NaN);
                for (int c = Group.IdxX; c < channels; c += Group.DimX) output[dst + c] = nan;
            }
        }
    }

    /// <summary>
    /// dTable[ids[i], c] += dOutput[i, c], deterministic and without atomics or a sort. The threads are split into
    /// <paramref name="partitions"/> × ⌈channels/GroupSize⌉ groups; a thread owns one channel c of one partition p and
    /// walks every position i in order, adding row i into dTable when ids[i] mod partitions = p. Positions with the
    /// same id fall in the same partition, so exactly one thread ever touches dTable[id, c] and it adds the positions
    /// in order: no races, and the same bits every run. All lanes of a warp share p, so the id test does not diverge;
    /// ids are read by every thread of a warp at the same address (one broadcast load, from cache after the first
    /// partition). Traffic: dOutput read once (sizeof(TIn) per element), dTable read and written once per position
    /// (2·sizeof(TTable)), ids read partitions·⌈channels/GroupSize⌉ times from cache. The f32 table accumulates in
    /// f32; a bf16 table rounds after every addition (prefer an f32 table gradient with bf16 dOutput).
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element), typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(ushort), typeof(Bf16Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(float), typeof(F32Element))]
    public static void Backward<TIn, TInElement, TTable, TTableElement>(
        ArrayView<TIn> dOutput, ArrayView<int> ids, ArrayView<TTable> dTable, int vocab, int channels, int partitions)
        where TIn : unmanaged where TInElement : struct, IGpuElement<TIn>
        where TTable : unmanaged where TTableElement : struct, IGpuElement<TTable>
    {
        int blocks = (channels + Group.DimX - 1) / Group.DimX;
        int p = Grid.IdxX / blocks;
        int c = (Grid.IdxX - p * blocks) * Group.DimX + Group.IdxX;
        if (c >= channels) return;
        int n = (int)ids.Length;
        for (int i = 0; i < n; i++)
        {
            int id = ids[i];
            if ((uint)id < (uint)vocab && id % partitions == p)
            {
                long t = (long)id * channels + c;
                float sum = default(TTableElement).Widen(dTable[t]) + default(TInElement).Widen(dOutput[(long)i * channels + c]);
                dTable[t] = default(TTableElement).Narrow(sum);
            }
        }
    }
}

/// <summary>Launches the embedding kernels on one accelerator; lengths are checked before launch (ids on the device are not: see <see cref="EmbeddingKernels"/>).</summary>
public sealed class EmbeddingGpu
{
    readonly Accelerator accelerator;
    readonly int groupSize;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int> forwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<int>, ArrayView<ushort>, int, int> forwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int> backwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<int>, ArrayView<ushort>, int, int, int> backwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<int>, ArrayView<float>, int, int, int> backwardBf16ToF32;

    public EmbeddingGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        groupSize = GroupReduce.GroupSize(accelerator);
        forwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(
            EmbeddingKernels.Forward<float, F32Element>);
        forwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<int>, ArrayView<ushort>, int, int>(
            EmbeddingKernels.Forward<ushort, Bf16Element>);
        backwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(
            EmbeddingKernels.Backward<float, F32Element, float, F32Element>);
        backwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<int>, ArrayView<ushort>, int, int, int>(
            EmbeddingKernels.Backward<ushort, Bf16Element, ushort, Bf16Element>);
        backwardBf16ToF32 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<int>, ArrayView<float>, int, int, int>(
            EmbeddingKernels.Backward<ushort, Bf16Element, float, F32Element>);
    }

    /// <summary>output (ids.Length, channels) = rows ids of table (vocab, channels).</summary>
    public void Forward(AcceleratorStream stream, ArrayView<float> table, ArrayView<int> ids, ArrayView<float> output, int vocab, int channels)
    {
        if (Check("EmbeddingGpu.Forward", table.Length, "table", ids.Length, output.Length, "output", vocab, channels))
            forwardF32(stream, ForwardConfig(ids.Length), table, ids, output, vocab, channels);
    }

    public void Forward(AcceleratorStream stream, ArrayView<ushort> table, ArrayView<int> ids, ArrayView<ushort> output, int vocab, int channels)
    {
        if (Check("EmbeddingGpu.Forward", table.Length, "table", ids.Length, output.Length, "output", vocab, channels))
            forwardBf16(stream, ForwardConfig(ids.Length), table, ids, output, vocab, channels);
    }

    /// <summary>dTable[ids[i]] += dOutput[i] (accumulates into dTable; repeated ids add up, in position order).</summary>
    public void Backward(AcceleratorStream stream, ArrayView<float> dOutput, ArrayView<int> ids, ArrayView<float> dTable, int vocab, int channels)
    {
        if (Check("EmbeddingGpu.Backward", dTable.Length, "dTable", ids.Length, dOutput.Length, "dOutput", vocab, channels))
        {
            var (config, partitions) = BackwardConfig(channels);
            backwardF32(stream, config, dOutput, ids, dTable, vocab, channels, partitions);
        }
    }

    public void Backward(AcceleratorStream stream, ArrayView<ushort> dOutput, ArrayView<int> ids, ArrayView<ushort> dTable, int vocab, int channels)
    {
        if (Check("EmbeddingGpu.Backward", dTable.Length, "dTable", ids.Length, dOutput.Length, "dOutput", vocab, channels))
        {
            var (config, partitions) = BackwardConfig(channels);
            backwardBf16(stream, config, dOutput, ids, dTable, vocab, channels, partitions);
        }
    }

    /// <summary>bf16 output gradient accumulated into an f32 table gradient.</summary>
    public void Backward(AcceleratorStream stream, ArrayView<ushort> dOutput, ArrayView<int> ids, ArrayView<float> dTable, int vocab, int channels)
    {
        if (Check("EmbeddingGpu.Backward", dTable.Length, "dTable", ids.Length, dOutput.Length, "dOutput", vocab, channels))
        {
            var (config, partitions) = BackwardConfig(channels);
            backwardBf16ToF32(stream, config, dOutput, ids, dTable, vocab, channels, partitions);
        }
    }

    /// <summary>Partitions of the backward: enough groups to fill the device (2 on the CPU accelerator, so tests cover p &gt; 0), at most 64.</summary>
    public int BackwardPartitions(int channels)
    {
        int blocks = (channels + groupSize - 1) / groupSize;
        int target = GpuLaunch.Elementwise(accelerator, long.MaxValue / 2).GridDim.X;
        return Math.Clamp(target / blocks, accelerator.AcceleratorType == AcceleratorType.Cuda ? 1 : 2, 64);
    }

    (KernelConfig, int) BackwardConfig(int channels)
    {
        int partitions = BackwardPartitions(channels);
        int blocks = (channels + groupSize - 1) / groupSize;
        return (new KernelConfig(blocks * partitions, groupSize), partitions);
    }

    KernelConfig ForwardConfig(long rows)
    {
        int cap = accelerator.AcceleratorType == AcceleratorType.Cuda ? 65535 : 2;
        return new KernelConfig((int)Math.Min(rows, cap), groupSize);
    }

    /// <summary>Lengths and sizes; returns false when there is nothing to do (no ids).</summary>
    static bool Check(string op, long tableLength, string tableName, long ids, long rowsLength, string rowsName, int vocab, int channels)
    {
        KernelArgs.Positive(op, "vocab", vocab);
        KernelArgs.Positive(op, "channels", channels);
        KernelArgs.Length(op, tableName, tableLength, (long)vocab * channels, "vocab·channels");
        KernelArgs.Length(op, rowsName, rowsLength, ids * channels, "ids.Length·channels");
        if (ids > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(ids), $"{op}: {ids} ids, more than int.MaxValue");
        return ids > 0;
    }
}

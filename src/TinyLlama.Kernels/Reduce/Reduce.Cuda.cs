using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Sum, mean and max on the GPU, f32 accumulation, deterministic (fixed thread layout, no atomics).
/// Definitions: <see cref="Reduce.RowsReference"/> and <see cref="Reduce.AllReference"/>.
/// </summary>
public static class ReduceKernels
{
    public const int OpSum = (int)ReduceOp.Sum;
    public const int OpMean = (int)ReduceOp.Mean;
    public const int OpMax = (int)ReduceOp.Max;
    /// <summary>Σ x², for the gradient norm (partials only).</summary>
    public const int OpSumOfSquares = 3;

    /// <summary>
    /// y[r] = op_c x[r, c] over the last dimension. Layout: one group per row (grid-stride over rows), the group's
    /// threads stride over the columns (coalesced), each keeps one f32 accumulator, then a warp butterfly and a
    /// shared-memory pass combine them (<see cref="GroupReduce"/>); thread 0 writes the row's result.
    /// Traffic per element: sizeof(T) read; one element written per row.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Rows<T, TElement>(ArrayView<T> input, ArrayView<T> output, int cols, int op)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        int rows = (int)output.Length;
        bool max = op == OpMax;
        for (int row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            long start = (long)row * cols;
            float acc = max ? float.NegativeInfinity : 0f;
            for (int c = Group.IdxX; c < cols; c += Group.DimX)
                acc = Accumulate(acc, default(TElement).Widen(input[start + c]), op);
            float total = max ? GroupReduce.Max(acc) : GroupReduce.Sum(acc);
            if (Group.IdxX == 0) output[row] = default(TElement).Narrow(op == OpMean ? total / cols : total);
        }
    }

    /// <summary>
    /// First pass of a full reduction: group g writes partials[g] = op over the elements its threads visit.
    /// Layout: 1-D grid-stride over the input with four independent accumulators per thread (the loop is unrolled
    /// by hand: four loads in flight per thread), combined in a fixed order, then a group reduction. The grid size
    /// must equal partials.Length (every partial is written, possibly with the identity).
    /// Traffic per element: sizeof(T) read; 4 bytes written per group.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Partial<T, TElement>(ArrayView<T> input, ArrayView<float> partials, int op)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        long n = input.Length;
        long stride = (long)Grid.DimX * Group.DimX;
        long i = Grid.GlobalIndex.X;
        float identity = op == OpMax ? float.NegativeInfinity : 0f;
        float a0 = identity, a1 = identity, a2 = identity, a3 = identity;
        for (; i + 3 * stride < n; i += 4 * stride)
        {
            float x0 = default(TElement).Widen(input[i]);
            float x1 = default(TElement).Widen(input[i + stride]);
            float x2 = default(TElement).Widen(input[i + 2 * stride]);
            float x3 = default(TElement).Widen(input[i + 3 * stride]);
            a0 = Accumulate(a0, x0, op);
            a1 = Accumulate(a1, x1, op);
            a2 = Accumulate(a2, x2, op);
            a3 = Accumulate(a3, x3, op);
        }
        for (; i < n; i += stride) a0 = Accumulate(a0, default(TElement).Widen(input[i]), op);
        float total;
        if (op == OpMax) total = GroupReduce.Max(GroupReduce.Max(GroupReduce.Max(a0, a1), GroupReduce.Max(a2, a3)));
        else total = GroupReduce.Sum((a0 + a1) + (a2 + a3));
        if (Group.IdxX == 0) partials[Grid.IdxX] = total;
    }

    /// <summary>
    /// Second pass: one group combines all partials (in a fixed order) into output[0]; the mean divides by
    /// <paramref name="count"/>, the number of input elements.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Final<T, TElement>(ArrayView<float> partials, ArrayView<T> output, int op, long count)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        bool max = op == OpMax;
        float acc = max ? float.NegativeInfinity : 0f;
        int n = (int)partials.Length;
        for (int i = Group.IdxX; i < n; i += Group.DimX)
            acc = max ? GroupReduce.Max(acc, partials[i]) : acc + partials[i];
        float total = max ? GroupReduce.Max(acc) : GroupReduce.Sum(acc);
        if (Group.IdxX == 0) output[0] = default(TElement).Narrow(op == OpMean ? (float)(total / (double)count) : total);
    }

    static float Accumulate(float acc, float x, int op) =>
        op == OpMax ? GroupReduce.Max(acc, x) : op == OpSumOfSquares ? acc + x * x : acc + x;
}

/// <summary>
/// Launches the reductions on one accelerator. A full reduction goes through a scratch buffer of
/// <see cref="PartialCount"/> floats owned by this launcher, so full reductions of one launcher must be issued on
/// one stream (or serialized); row reductions need no scratch.
/// </summary>
public sealed class ReduceGpu
{
    readonly Accelerator accelerator;
    readonly MemoryBuffer1D<float, Stride1D.Dense> scratch;
    readonly int groupSize;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int> rowsF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, int, int> rowsBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int> partialF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<float>, int> partialBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, long> finalF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>, int, long> finalBf16;

    public ReduceGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        PartialCount = GpuLaunch.Elementwise(accelerator, long.MaxValue / 2).GridDim.X;
        groupSize = GroupReduce.GroupSize(accelerator);
        scratch = accelerator.Allocate1D<float>(PartialCount);
        rowsF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, int>(ReduceKernels.Rows<float, F32Element>);
        rowsBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, int, int>(ReduceKernels.Rows<ushort, Bf16Element>);
        partialF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int>(ReduceKernels.Partial<float, F32Element>);
        partialBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<float>, int>(ReduceKernels.Partial<ushort, Bf16Element>);
        finalF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, long>(ReduceKernels.Final<float, F32Element>);
        finalBf16 = accelerator.LoadKernel<ArrayView<float>, ArrayView<ushort>, int, long>(ReduceKernels.Final<ushort, Bf16Element>);
    }

    /// <summary>Groups of the first pass of a full reduction, and so the number of partials it writes: fixed per accelerator.</summary>
    public int PartialCount { get; }

    /// <summary>output[r] = op over row r of the (output.Length, cols) input.</summary>
    public void Rows(AcceleratorStream stream, ArrayView<float> input, ArrayView<float> output, int cols, ReduceOp op)
    {
        if (CheckRows(input.Length, output.Length, cols, op))
            rowsF32(stream, RowConfig(output.Length), input, output, cols, (int)op);
    }

    public void Rows(AcceleratorStream stream, ArrayView<ushort> input, ArrayView<ushort> output, int cols, ReduceOp op)
    {
        if (CheckRows(input.Length, output.Length, cols, op))
            rowsBf16(stream, RowConfig(output.Length), input, output, cols, (int)op);
    }

    /// <summary>output[0] = op over all of input, in two deterministic passes.</summary>
    public void All(AcceleratorStream stream, ArrayView<float> input, ArrayView<float> output, ReduceOp op)
    {
        CheckAll(output.Length, op);
        partialF32(stream, new KernelConfig(PartialCount, groupSize), input, scratch.View, PartialOp(op));
        finalF32(stream, new KernelConfig(1, groupSize), scratch.View, output, (int)op, input.Length);
    }

    public void All(AcceleratorStream stream, ArrayView<ushort> input, ArrayView<ushort> output, ReduceOp op)
    {
        CheckAll(output.Length, op);
        partialBf16(stream, new KernelConfig(PartialCount, groupSize), input, scratch.View, PartialOp(op));
        finalBf16(stream, new KernelConfig(1, groupSize), scratch.View, output, (int)op, input.Length);
    }

    static int PartialOp(ReduceOp op) => op == ReduceOp.Max ? ReduceKernels.OpMax : ReduceKernels.OpSum;

    KernelConfig RowConfig(long rows) => GpuLaunch.PerRow((int)Math.Min(rows, 65535), groupSize);

    static bool CheckRows(long input, long output, int cols, ReduceOp op)
    {
        CheckOp("ReduceGpu.Rows", op);
        Reduce.CheckRows("ReduceGpu.Rows", input, output, cols);
        if (output > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(output), $"ReduceGpu.Rows: output has {output} rows, more than int.MaxValue");
        return output > 0;
    }

    static void CheckAll(long output, ReduceOp op)
    {
        CheckOp("ReduceGpu.All", op);
        KernelArgs.Length("ReduceGpu.All", "output", output, 1, "one element");
    }

    static void CheckOp(string name, ReduceOp op)
    {
        if (op is not (ReduceOp.Sum or ReduceOp.Mean or ReduceOp.Max))
            throw new ArgumentOutOfRangeException(nameof(op), op, $"{name}: op {op} is not Sum, Mean or Max");
    }
}

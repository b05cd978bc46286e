using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// RMSNorm on the GPU, the same math and layout as <see cref="RmsNorm"/>: x, y, dy, dx (rows, cols) in the storage type
/// (f32 or bf16), weight and dWeight (cols) in the storage type, invRms (rows) always f32 — the statistic saved for
/// backward keeps full precision whatever the storage (a bf16 invRms would cost 3 significant digits in dx).
/// All arithmetic is f32.
/// <para>
/// Forward: one group of <see cref="RmsNormGpu.GpuGroupSize"/> threads per row. Thread t reads columns t, t+256, …
/// (coalesced), sums their squares (4 independent accumulators, hand-unrolled), the group all-reduces the sum
/// (<see cref="GroupReduce.Sum"/>), s = 1/sqrt(Σx²/cols + eps), then a second pass writes y = x·s·w; thread 0 stores s.
/// Traffic per element: x read twice (the second from L1/L2: a row is a few KB), y written once, w from cache —
/// 8 bytes from DRAM per element in f32, 4 in bf16.
/// </para>
/// <para>
/// Backward, kernel 1: a grid of G groups (G ≤ rows, a few per multiprocessor) walks the rows with a grid stride; per
/// row it all-reduces g·x = Σ dy·w·x, then writes dx = s·dy·w − x·s³·(g·x)/cols and adds dy·x·s into a per-group
/// dWeight partial held in shared memory (thread t owns columns t, t+256, …, so no two threads touch one slot and no
/// atomics are needed). At the end each group stores its partial row to scratch (G, cols). Kernel 2 sums the G
/// partials of each column in group order and adds the total into dWeight (+=, as the CPU version accumulates). The
/// sum order depends only on G, so dWeight is deterministic for a given device. Traffic per element: dy and x read
/// twice (second time from cache), dx written: 12 bytes in f32, 6 in bf16; the partials are G·cols floats, small
/// next to rows·cols. cols is limited to <see cref="RmsNormKernels.MaxCols"/> by the shared partial (32 KB).
/// </para>
/// </summary>
public static class RmsNormKernels
{
    /// <summary>The widest row backward accepts: its dWeight partial lives in 32 KB of static shared memory.</summary>
    public const int MaxCols = 8192;

    /// <summary>One group per row: y = x·invRms·w, invRms[row] = 1/sqrt(mean(x²) + eps).</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Forward<T, TElement>(ArrayView<T> x, ArrayView<T> weight, ArrayView<T> y, ArrayView<float> invRms,
        int rows, int cols, float eps)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.ScratchLength);
        int row = Grid.IdxX;
        if (row >= rows) return; // uniform across the group
        TElement e = default;
        long o = (long)row * cols;
        int tid = Group.IdxX, n = Group.DimX;

        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
        int i = tid;
        for (; i + 3 * n < cols; i += 4 * n)
        {
            float v0 = e.Widen(x[o + i]), v1 = e.Widen(x[o + i + n]), v2 = e.Widen(x[o + i + 2 * n]), v3 = e.Widen(x[o + i + 3 * n]);
            a0 += v0 * v0;
            a1 += v1 * v1;
            a2 += v2 * v2;
            a3 += v3 * v3;
        }
        for (; i < cols; i += n)
        {
            float v = e.Widen(x[o + i]);
            a0 += v * v;
        }
        float sumSq = GroupReduce.Sum((a0 + a1) + (a2 + a3), scratch);
        float s = 1f / MathF.Sqrt(sumSq / cols + eps);

        for (i = tid; i < cols; i += n)
            y[o + i] = e.Narrow(e.Widen(x[o + i]) * s * e.Widen(weight[i]));
        if (tid == 0) invRms[row] = s;
    }

    /// <summary>
    /// Grid-stride over rows: dx = s·dy·w − x·s³·(Σ dy·w·x)/cols written; Σ over this group's rows of dy·x·s stored in
    /// partials[group, :].
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Backward<T, TElement>(ArrayView<T> dy, ArrayView<T> x, ArrayView<T> weight, ArrayView<float> invRms,
        ArrayView<T> dx, ArrayView<float> partials, int rows, int cols)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.ScratchLength);
        var acc = SharedMemory.Allocate<float>(MaxCols);
        TElement e = default;
        int tid = Group.IdxX, n = Group.DimX;
        // Thread t only ever touches acc[t + k·n], so no barrier is needed around these slots.
        for (int i = tid; i < cols; i += n) acc[i] = 0f;

        for (int row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            long o = (long)row * cols;
            float s = invRms[row];
            float a0 = 0f, a1 = 0f;
            int i = tid;
            for (; i + n < cols; i += 2 * n)
            {
                a0 += e.Widen(dy[o + i]) * e.Widen(weight[i]) * e.Widen(x[o + i]);
                a1 += e.Widen(dy[o + i + n]) * e.Widen(weight[i + n]) * e.Widen(x[o + i + n]);
            }
            if (i < cols) a0 += e.Widen(dy[o + i]) * e.Widen(weight[i]) * e.Widen(x[o + i]);
            float dot = GroupReduce.Sum(a0 + a1, scratch);
            float c = s * s * s * dot / cols;

            for (i = tid; i < cols; i += n)
            {
                float vdy = e.Widen(dy[o + i]), vx = e.Widen(x[o + i]);
                dx[o + i] = e.Narrow(s * vdy * e.Widen(weight[i]) - vx * c);
                acc[i] += vdy * vx * s;
            }
        }

        long p = (long)Grid.IdxX * cols;
        for (int i = tid; i < cols; i += n) partials[p + i] = acc[i];
    }

    /// <summary>dWeight[i] += Σ_g partials[g, i], summed in group order; grid-stride over columns.</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void AccumulateWeightGradient<T, TElement>(ArrayView<float> partials, ArrayView<T> dWeight, int groups, int cols)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        TElement e = default;
        int stride = Grid.DimX * Group.DimX;
        for (int i = Grid.GlobalIndex.X; i < cols; i += stride)
        {
            float sum = 0f;
            for (int g = 0; g < groups; g++) sum += partials[(long)g * cols + i];
            dWeight[i] = e.Narrow(e.Widen(dWeight[i]) + sum);
        }
    }
}

/// <summary>
/// Launches the RMSNorm kernels on one accelerator; lengths are checked on the host before any launch, with the
/// messages of the CPU version (e.g. "RmsNormGpu.Forward: y has 10 elements, expected rows·cols = 12").
/// </summary>
public sealed class RmsNormGpu
{
    /// <summary>Threads per group (per row in forward).</summary>
    public const int GpuGroupSize = 256;

    /// <summary>Threads per group of this launcher: <see cref="GpuGroupSize"/> on a GPU, fewer on the CPU accelerator (<see cref="GroupReduce.RowGroupSize"/>).</summary>
    public int GroupSize { get; }

    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> forwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, int, float> forwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> backwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, int, int> backwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int> accumulateF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>, int, int> accumulateBf16;

    public RmsNormGpu(Accelerator accelerator) : this(accelerator, GroupReduce.RowGroupSize(accelerator, GpuGroupSize)) { }

    /// <summary>A launcher with an explicit group size (a multiple of 32, at most 1024), e.g. to test the GPU shape on the CPU.</summary>
    internal RmsNormGpu(Accelerator accelerator, int groupSize)
    {
        GroupReduce.RequireWarp32(accelerator, nameof(RmsNormGpu));
        GroupReduce.RequireGroupSize(groupSize, nameof(RmsNormGpu));
        GroupSize = groupSize;
        this.accelerator = accelerator;
        forwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(
            RmsNormKernels.Forward<float, F32Element>);
        forwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, int, float>(
            RmsNormKernels.Forward<ushort, Bf16Element>);
        backwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(
            RmsNormKernels.Backward<float, F32Element>);
        backwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, int, int>(
            RmsNormKernels.Backward<ushort, Bf16Element>);
        accumulateF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, int>(
            RmsNormKernels.AccumulateWeightGradient<float, F32Element>);
        accumulateBf16 = accelerator.LoadKernel<ArrayView<float>, ArrayView<ushort>, int, int>(
            RmsNormKernels.AccumulateWeightGradient<ushort, Bf16Element>);
    }

    /// <summary>y = x·invRms·w (rows, cols); invRms (rows, f32) is written for backward.</summary>
    public void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> y,
        ArrayView<float> invRms, int rows, int cols, float eps)
    {
        CheckForward(x.Length, weight.Length, y.Length, invRms.Length, rows, cols, eps);
        if (rows > 0) forwardF32(stream, GpuLaunch.PerRow(rows, GroupSize), x, weight, y, invRms, rows, cols, eps);
    }

    /// <inheritdoc cref="Forward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int, float)"/>
    public void Forward(AcceleratorStream stream, ArrayView<ushort> x, ArrayView<ushort> weight, ArrayView<ushort> y,
        ArrayView<float> invRms, int rows, int cols, float eps)
    {
        CheckForward(x.Length, weight.Length, y.Length, invRms.Length, rows, cols, eps);
        if (rows > 0) forwardBf16(stream, GpuLaunch.PerRow(rows, GroupSize), x, weight, y, invRms, rows, cols, eps);
    }

    /// <summary>Groups backward launches for <paramref name="rows"/> rows: a few per multiprocessor on a GPU, 2 on the CPU accelerator.</summary>
    public int BackwardGroups(int rows)
    {
        int cap = accelerator.AcceleratorType == AcceleratorType.Cuda ? accelerator.NumMultiprocessors * 4 : 2;
        return Math.Max(1, Math.Min(rows, cap));
    }

    /// <summary>The f32 scratch backward needs: BackwardGroups(rows)·cols (one dWeight partial per group).</summary>
    public long BackwardScratchLength(int rows, int cols) => (long)BackwardGroups(rows) * cols;

    /// <summary>
    /// dx (rows, cols) is written (=); dWeight (cols) is accumulated (+=), as on the CPU. scratch is f32 of at least
    /// <see cref="BackwardScratchLength"/> elements; its contents are overwritten.
    /// </summary>
    public void Backward(AcceleratorStream stream, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> weight,
        ArrayView<float> invRms, ArrayView<float> dx, ArrayView<float> dWeight, ArrayView<float> scratch, int rows, int cols)
    {
        int groups = CheckBackward(dy.Length, x.Length, weight.Length, invRms.Length, dx.Length, dWeight.Length, scratch.Length, rows, cols);
        if (rows == 0) return;
        backwardF32(stream, new KernelConfig(groups, GroupSize), dy, x, weight, invRms, dx, scratch, rows, cols);
        accumulateF32(stream, GpuLaunch.Elementwise(accelerator, cols), scratch, dWeight, groups, cols);
    }

    /// <inheritdoc cref="Backward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int)"/>
    public void Backward(AcceleratorStream stream, ArrayView<ushort> dy, ArrayView<ushort> x, ArrayView<ushort> weight,
        ArrayView<float> invRms, ArrayView<ushort> dx, ArrayView<ushort> dWeight, ArrayView<float> scratch, int rows, int cols)
    {
        int groups = CheckBackward(dy.Length, x.Length, weight.Length, invRms.Length, dx.Length, dWeight.Length, scratch.Length, rows, cols);
        if (rows == 0) return;
        backwardBf16(stream, new KernelConfig(groups, GroupSize), dy, x, weight, invRms, dx, scratch, rows, cols);
        accumulateBf16(stream, GpuLaunch.Elementwise(accelerator, cols), scratch, dWeight, groups, cols);
    }

    static void CheckForward(long x, long weight, long y, long invRms, int rows, int cols, float eps)
    {
        const string op = "RmsNormGpu.Forward";
        CheckShape(op, x, weight, "y", y, invRms, rows, cols);
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{op}: eps must be >= 0, got {eps}");
    }

    int CheckBackward(long dy, long x, long weight, long invRms, long dx, long dWeight, long scratch, int rows, int cols)
    {
        const string op = "RmsNormGpu.Backward";
        CheckShape(op, x, weight, "dx", dx, invRms, rows, cols);
        KernelArgs.Length(op, "dy", dy, (long)rows * cols, "rows·cols");
        KernelArgs.Length(op, "dWeight", dWeight, cols, "cols");
        if (cols > RmsNormKernels.MaxCols)
            throw new ArgumentOutOfRangeException(nameof(cols), cols,
                $"{op}: cols must be <= {RmsNormKernels.MaxCols} (the shared dWeight partial), got {cols}");
        int groups = BackwardGroups(rows);
        if (scratch < (long)groups * cols)
            throw new ArgumentException(
                $"{op}: scratch has {scratch} elements, expected at least BackwardGroups(rows)·cols = {(long)groups * cols}", nameof(scratch));
        return groups;
    }

    static void CheckShape(string op, long x, long weight, string outName, long output, long invRms, int rows, int cols)
    {
        KernelArgs.NonNegative(op, "rows", rows);
        KernelArgs.Positive(op, "cols", cols);
        KernelArgs.Length(op, "x", x, (long)rows * cols, "rows·cols");
        KernelArgs.Length(op, "weight", weight, cols, "cols");
        KernelArgs.Length(op, outName, output, (long)rows * cols, "rows·cols");
        KernelArgs.Length(op, "invRms", invRms, rows, "rows");
    }
}

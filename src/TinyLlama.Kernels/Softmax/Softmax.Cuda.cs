using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Softmax over the last axis on the GPU, the same math and layout as <see cref="Softmax"/>: x, y, dy, dx (rows, cols)
/// in the storage type, f32 arithmetic. y = exp(x − M)/S with M the row max and S = Σ exp(x − M);
/// backward dx = y ⊙ (dy − Σ dy ⊙ y).
/// <para>
/// Forward: one group of <see cref="SoftmaxGpu.GpuGroupSize"/> threads per row, online (one read for the statistics):
/// thread t keeps a running pair (m, s) over columns t, t+256, … (two independent pairs, hand-unrolled, for ILP; a
/// new max rescales the sum), the group combines the pairs with shuffles and shared memory
/// (<see cref="GroupReduce.MaxSumExp"/>), then a second pass writes y = exp(x − M)·(1/S). Traffic per element: x read
/// twice (the second from L1/L2), y written once — 8 bytes from DRAM in f32, 4 in bf16.
/// Backward: one group per row; the group all-reduces Σ y·dy, then writes dx. Traffic: y and dy read twice, dx
/// written — 12 bytes in f32, 6 in bf16. Every thread reads its elements before the row's barrier and writes only
/// its own elements after it, so y may alias x and dx may alias dy.
/// </para>
/// </summary>
public static class SoftmaxKernels
{
    /// <summary>One group per row: y = softmax(x).</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Forward<T, TElement>(ArrayView<T> x, ArrayView<T> y, int rows, int cols)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.ScratchLength);
        int row = Grid.IdxX;
        if (row >= rows) return; // uniform across the group
        TElement e = default;
        long o = (long)row * cols;
        int tid = Group.IdxX, n = Group.DimX;

        var p0 = new MaxSum(GroupReduce.NoMax, 0f);
        var p1 = p0;
        int i = tid;
        for (; i + n < cols; i += 2 * n)
        {
            p0 = GroupReduce.Add(p0, e.Widen(x[o + i]));
            p1 = GroupReduce.Add(p1, e.Widen(x[o + i + n]));
        }
        if (i < cols) p0 = GroupReduce.Add(p0, e.Widen(x[o + i]));
        var total = GroupReduce.MaxSumExp(GroupReduce.Combine(p0, p1), scratch);
        float max = total.Max, inv = 1f / total.Sum;

        for (i = tid; i < cols; i += n)
            y[o + i] = e.Narrow(MathF.Exp(e.Widen(x[o + i]) - max) * inv);
    }

    /// <summary>One group per row: dx = y·(dy − Σ dy·y).</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Backward<T, TElement>(ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dx, int rows, int cols)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.ScratchLength);
        int row = Grid.IdxX;
        if (row >= rows) return;
        TElement e = default;
        long o = (long)row * cols;
        int tid = Group.IdxX, n = Group.DimX;

        float a0 = 0f, a1 = 0f;
        int i = tid;
        for (; i + n < cols; i += 2 * n)
        {
            a0 += e.Widen(y[o + i]) * e.Widen(dy[o + i]);
            a1 += e.Widen(y[o + i + n]) * e.Widen(dy[o + i + n]);
        }
        if (i < cols) a0 += e.Widen(y[o + i]) * e.Widen(dy[o + i]);
        float dot = GroupReduce.Sum(a0 + a1, scratch);

        for (i = tid; i < cols; i += n)
            dx[o + i] = e.Narrow(e.Widen(y[o + i]) * (e.Widen(dy[o + i]) - dot));
    }
}

/// <summary>Launches the softmax kernels on one accelerator; lengths are checked on the host before any launch.</summary>
public sealed class SoftmaxGpu
{
    /// <summary>Threads per row.</summary>
    public const int GpuGroupSize = 256;

    /// <summary>Threads per group of this launcher: <see cref="GpuGroupSize"/> on a GPU, fewer on the CPU accelerator (<see cref="GroupReduce.RowGroupSize"/>).</summary>
    public int GroupSize { get; }

    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int> forwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, int, int> forwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> backwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, int, int> backwardBf16;

    public SoftmaxGpu(Accelerator accelerator) : this(accelerator, GroupReduce.RowGroupSize(accelerator, GpuGroupSize)) { }

    /// <summary>A launcher with an explicit group size (a multiple of 32, at most 1024), e.g. to test the GPU shape on the CPU.</summary>
    internal SoftmaxGpu(Accelerator accelerator, int groupSize)
    {
        GroupReduce.RequireWarp32(accelerator, nameof(SoftmaxGpu));
        GroupReduce.RequireGroupSize(groupSize, nameof(SoftmaxGpu));
        GroupSize = groupSize;
        forwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, int>(SoftmaxKernels.Forward<float, F32Element>);
        forwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, int, int>(SoftmaxKernels.Forward<ushort, Bf16Element>);
        backwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(SoftmaxKernels.Backward<float, F32Element>);
        backwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, int, int>(SoftmaxKernels.Backward<ushort, Bf16Element>);
    }

    /// <summary>y = softmax(x) over the last axis of (rows, cols); y may be x.</summary>
    public void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, int rows, int cols)
    {
        Check("SoftmaxGpu.Forward", "x", x.Length, "y", y.Length, rows, cols);
        if (rows > 0) forwardF32(stream, GpuLaunch.PerRow(rows, GroupSize), x, y, rows, cols);
    }

    /// <inheritdoc cref="Forward(AcceleratorStream, ArrayView{float}, ArrayView{float}, int, int)"/>
    public void Forward(AcceleratorStream stream, ArrayView<ushort> x, ArrayView<ushort> y, int rows, int cols)
    {
        Check("SoftmaxGpu.Forward", "x", x.Length, "y", y.Length, rows, cols);
        if (rows > 0) forwardBf16(stream, GpuLaunch.PerRow(rows, GroupSize), x, y, rows, cols);
    }

    /// <summary>dx = y ⊙ (dy − Σ dy ⊙ y), written (=); dx may be dy.</summary>
    public void Backward(AcceleratorStream stream, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows, int cols)
    {
        CheckBackward(y.Length, dy.Length, dx.Length, rows, cols);
        if (rows > 0) backwardF32(stream, GpuLaunch.PerRow(rows, GroupSize), y, dy, dx, rows, cols);
    }

    /// <inheritdoc cref="Backward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int)"/>
    public void Backward(AcceleratorStream stream, ArrayView<ushort> y, ArrayView<ushort> dy, ArrayView<ushort> dx, int rows, int cols)
    {
        CheckBackward(y.Length, dy.Length, dx.Length, rows, cols);
        if (rows > 0) backwardBf16(stream, GpuLaunch.PerRow(rows, GroupSize), y, dy, dx, rows, cols);
    }

    static void CheckBackward(long y, long dy, long dx, int rows, int cols)
    {
        Check("SoftmaxGpu.Backward", "y", y, "dx", dx, rows, cols);
        KernelArgs.Length("SoftmaxGpu.Backward", "dy", dy, (long)rows * cols, "rows·cols");
    }

    static void Check(string op, string inName, long inLength, string outName, long outLength, int rows, int cols)
    {
        KernelArgs.NonNegative(op, "rows", rows);
        KernelArgs.Positive(op, "cols", cols);
        KernelArgs.Length(op, inName, inLength, (long)rows * cols, "rows·cols");
        KernelArgs.Length(op, outName, outLength, (long)rows * cols, "rows·cols");
    }
}

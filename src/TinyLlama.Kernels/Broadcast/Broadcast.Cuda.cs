using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Broadcast add/mul and the broadcast backward (sum to a shape) on the GPU. Definitions:
/// <see cref="Broadcast.BinaryReference"/> and <see cref="Broadcast.SumToShapeReference"/>.
/// </summary>
public static class BroadcastKernels
{
    /// <summary>
    /// out[i] = a[offA(i)] ∘ b[offB(i)], ∘ = + (op 0) or × (op 1), computed in f32 and rounded once to the storage type.
    /// Layout: 1-D grid-stride over the output, one element per thread per step; offsets from the hand-unrolled
    /// decomposition of i over the output shape (none when the layout is dense). Stores are coalesced; a broadcast
    /// operand is re-read from cache. Traffic per output element: 3·sizeof(T) when both operands are full size
    /// (12 bytes f32, 6 bf16), 2·sizeof(T) when one is broadcast.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Binary<T, TElement>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> output, BroadcastLayout layout, int op)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        int stride = Grid.DimX * Group.DimX;
        int count = (int)output.Length;
        for (int i = Grid.GlobalIndex.X; i < count; i += stride)
        {
            var at = BroadcastLayout.Offsets(layout, i);
            float x = default(TElement).Widen(a[at.A]), y = default(TElement).Widen(b[at.B]);
            output[i] = default(TElement).Narrow(op == 0 ? x + y : x * y);
        }
    }

    /// <summary>
    /// dTarget[j] = Σ_r dOut[kept(j) + reduced(r)]: the broadcast backward when the reduced axes are not the innermost
    /// ones (those go to the row reduction). Layout: 1-D grid-stride over the target, one thread per target element
    /// summing its reducedCount inputs sequentially in f32 (deterministic); adjacent threads read adjacent inputs when
    /// the kept axes are innermost (the common bias case), so reads are coalesced.
    /// Traffic: sizeof(T) read per input element, sizeof(T) written per target element.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void SumToShape<T, TElement>(ArrayView<T> dOut, StridedLayout kept, StridedLayout reduced, int reducedCount, ArrayView<T> dTarget)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        int stride = Grid.DimX * Group.DimX;
        int count = (int)dTarget.Length;
        for (int j = Grid.GlobalIndex.X; j < count; j += stride)
        {
            int start = StridedLayout.OffsetOf(kept, j);
            float sum = 0f;
            for (int r = 0; r < reducedCount; r++)
                sum += default(TElement).Widen(dOut[start + StridedLayout.OffsetOf(reduced, r)]);
            dTarget[j] = default(TElement).Narrow(sum);
        }
    }
}

/// <summary>Launches the broadcast kernels on one accelerator; shapes are checked before launch.</summary>
public sealed class BroadcastGpu
{
    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastLayout, int> binaryF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, BroadcastLayout, int> binaryBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, StridedLayout, StridedLayout, int, ArrayView<float>> sumF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, StridedLayout, StridedLayout, int, ArrayView<ushort>> sumBf16;
    readonly Lazy<ReduceGpu> reduce;

    public BroadcastGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        binaryF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastLayout, int>(
            BroadcastKernels.Binary<float, F32Element>);
        binaryBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, BroadcastLayout, int>(
            BroadcastKernels.Binary<ushort, Bf16Element>);
        sumF32 = accelerator.LoadKernel<ArrayView<float>, StridedLayout, StridedLayout, int, ArrayView<float>>(
            BroadcastKernels.SumToShape<float, F32Element>);
        sumBf16 = accelerator.LoadKernel<ArrayView<ushort>, StridedLayout, StridedLayout, int, ArrayView<ushort>>(
            BroadcastKernels.SumToShape<ushort, Bf16Element>);
        reduce = new(() => new ReduceGpu(accelerator));
    }

    /// <summary>output = a ∘ b with NumPy broadcasting of the contiguous operands' shapes.</summary>
    public void Binary(AcceleratorStream stream, ArrayView<float> a, ReadOnlySpan<int> aShape, ArrayView<float> b, ReadOnlySpan<int> bShape,
        ArrayView<float> output, BinaryOp op)
    {
        var layout = CheckBinary(a.Length, aShape, b.Length, bShape, output.Length, op);
        if (output.Length > 0) binaryF32(stream, GpuLaunch.Elementwise(accelerator, output.Length), a, b, output, layout, (int)op);
    }

    public void Binary(AcceleratorStream stream, ArrayView<ushort> a, ReadOnlySpan<int> aShape, ArrayView<ushort> b, ReadOnlySpan<int> bShape,
        ArrayView<ushort> output, BinaryOp op)
    {
        var layout = CheckBinary(a.Length, aShape, b.Length, bShape, output.Length, op);
        if (output.Length > 0) binaryBf16(stream, GpuLaunch.Elementwise(accelerator, output.Length), a, b, output, layout, (int)op);
    }

    /// <summary>
    /// output = a ∘ b where the operands are strided views (<paramref name="aView"/>, <paramref name="bView"/>: shape,
    /// strides, offset in their buffers), NumPy-broadcast against each other; the output is contiguous.
    /// </summary>
    public void Binary(AcceleratorStream stream, ArrayView<float> a, StridedLayout aView, ArrayView<float> b, StridedLayout bView,
        ArrayView<float> output, BinaryOp op)
    {
        var layout = CheckBinary(a.Length, aView, b.Length, bView, output.Length, op);
        if (output.Length > 0) binaryF32(stream, GpuLaunch.Elementwise(accelerator, output.Length), a, b, output, layout, (int)op);
    }

    public void Binary(AcceleratorStream stream, ArrayView<ushort> a, StridedLayout aView, ArrayView<ushort> b, StridedLayout bView,
        ArrayView<ushort> output, BinaryOp op)
    {
        var layout = CheckBinary(a.Length, aView, b.Length, bView, output.Length, op);
        if (output.Length > 0) binaryBf16(stream, GpuLaunch.Elementwise(accelerator, output.Length), a, b, output, layout, (int)op);
    }

    static BroadcastLayout CheckBinary(long a, StridedLayout aView, long b, StridedLayout bView, long output, BinaryOp op)
    {
        const string name = "BroadcastGpu.Binary";
        if (op is not (BinaryOp.Add or BinaryOp.Mul))
            throw new ArgumentOutOfRangeException(nameof(op), op, $"{name}: op {op} is not Add or Mul");
        aView.CheckInside(name, "aView", a);
        bView.CheckInside(name, "bView", b);
        var layout = Broadcast.Layout(aView, bView);
        KernelArgs.Length(name, "output", output, Broadcast.Count(Broadcast.Shape(aView.Shape, bView.Shape)), "product of the broadcast shape");
        return layout;
    }

    /// <summary>
    /// The backward of broadcasting a tensor of <paramref name="targetShape"/> to <paramref name="outShape"/>: dTarget =
    /// dOut summed over the broadcast axes (overwrites dTarget). Routed by shape: equal shapes copy; a scalar target
    /// is the two-pass full sum; reduced axes that are all innermost are the row reduction; anything else runs
    /// <see cref="BroadcastKernels.SumToShape{T, TElement}"/>. Full sums use <see cref="ReduceGpu"/>'s scratch: one stream.
    /// </summary>
    public void SumToShape(AcceleratorStream stream, ArrayView<float> dOut, ReadOnlySpan<int> outShape, ArrayView<float> dTarget, ReadOnlySpan<int> targetShape)
    {
        var plan = Plan(dOut.Length, outShape, dTarget.Length, targetShape);
        switch (plan.Route)
        {
            case Route.Copy: dOut.CopyTo(stream, dTarget); break;
            case Route.All: reduce.Value.All(stream, dOut, dTarget, ReduceOp.Sum); break;
            case Route.Rows: reduce.Value.Rows(stream, dOut, dTarget, plan.ReducedCount, ReduceOp.Sum); break;
            default: sumF32(stream, GpuLaunch.Elementwise(accelerator, dTarget.Length), dOut, plan.Kept, plan.Reduced, plan.ReducedCount, dTarget); break;
        }
    }

    public void SumToShape(AcceleratorStream stream, ArrayView<ushort> dOut, ReadOnlySpan<int> outShape, ArrayView<ushort> dTarget, ReadOnlySpan<int> targetShape)
    {
        var plan = Plan(dOut.Length, outShape, dTarget.Length, targetShape);
        switch (plan.Route)
        {
            case Route.Copy: dOut.CopyTo(stream, dTarget); break;
            case Route.All: reduce.Value.All(stream, dOut, dTarget, ReduceOp.Sum); break;
            case Route.Rows: reduce.Value.Rows(stream, dOut, dTarget, plan.ReducedCount, ReduceOp.Sum); break;
            default: sumBf16(stream, GpuLaunch.Elementwise(accelerator, dTarget.Length), dOut, plan.Kept, plan.Reduced, plan.ReducedCount, dTarget); break;
        }
    }

    enum Route { Copy, All, Rows, Kernel }

    readonly record struct SumPlan(Route Route, StridedLayout Kept, StridedLayout Reduced, int ReducedCount);

    /// <summary>How a sum to <paramref name="targetShape"/> runs, and the kernel's two index maps.</summary>
    static SumPlan Plan(long dOut, ReadOnlySpan<int> outShape, long dTarget, ReadOnlySpan<int> targetShape)
    {
        Broadcast.CheckSumToShape("BroadcastGpu.SumToShape", dOut, outShape, dTarget, targetShape);
        int rank = outShape.Length, pad = rank - targetShape.Length;
        int[] outStrides = StridedLayout.ContiguousStrides(outShape);
        var keptDims = new int[rank];
        var keptStrides = new int[rank];
        var reducedDims = new List<int>();
        var reducedStrides = new List<int>();
        int firstReduced = rank, lastKept = -1;
        for (int k = 0; k < rank; k++)
        {
            int t = k < pad ? 1 : targetShape[k - pad];
            keptDims[k] = t;
            keptStrides[k] = t == 1 ? 0 : outStrides[k];
            if (t == 1 && outShape[k] > 1)
            {
                reducedDims.Add(outShape[k]);
                reducedStrides.Add(outStrides[k]);
                firstReduced = Math.Min(firstReduced, k);
            }
            else if (outShape[k] > 1) lastKept = k;
        }
        if (reducedDims.Count == 0) { reducedDims.Add(1); reducedStrides.Add(0); }
        int reducedCount = 1;
        foreach (int d in reducedDims) reducedCount *= d;
        var route = dTarget == dOut ? Route.Copy
            : dTarget == 1 ? Route.All
            : lastKept < firstReduced ? Route.Rows
            : Route.Kernel;
        return new SumPlan(route, StridedLayout.Create(keptDims, keptStrides), StridedLayout.Create([.. reducedDims], [.. reducedStrides]), reducedCount);
    }

    static BroadcastLayout CheckBinary(long a, ReadOnlySpan<int> aShape, long b, ReadOnlySpan<int> bShape, long output, BinaryOp op)
    {
        if (op is not (BinaryOp.Add or BinaryOp.Mul))
            throw new ArgumentOutOfRangeException(nameof(op), op, $"BroadcastGpu.Binary: op {op} is not Add or Mul");
        var layout = Broadcast.Layout(aShape, bShape);
        Broadcast.CheckBinary("BroadcastGpu.Binary", a, aShape, b, bShape, output, Broadcast.Shape(aShape, bShape));
        return layout;
    }
}

using ILGPU;
using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// The GPU paths of the elementwise tensor arithmetic (Tensor.Elementwise.cs, Tensor.Unary.cs): forward results only,
/// unrecorded; the Tensor op records the same Function as on the CPU, whose backward is made of these ops again and so
/// runs on the device too. Broadcast binary ops go to <see cref="BroadcastGpu"/>, which reads strided views in place;
/// ops with a scalar and the elementwise functions go to <see cref="PointwiseGpu"/>, the scalar travelling as a kernel
/// argument. The kernels have add and mul: a − b is a + (−b) and a / b is a · (1/b), one more rounding than a true
/// division (within an ulp in f32).
/// </summary>
internal static class GpuElementwise
{
    public static Tensor Binary(string op, Tensor a, Tensor b, BinaryKind kind)
    {
        OpChecks.GpuInputs(op, a, b);
        var shape = Shapes.Broadcast(op, a.Shape, b.Shape);
        CheckRank(op, shape, $"shapes {a.ShapeText} and {b.ShapeText} broadcast to {Shapes.Format(shape)}");
        var result = Gpu.Empty(a, shape);
        if (result.Numel == 0) return result;
        switch (kind)
        {
            case BinaryKind.Add: Launch(a, b, result, BinaryOp.Add); break;
            case BinaryKind.Mul: Launch(a, b, result, BinaryOp.Mul); break;
            case BinaryKind.Sub:
                {
                    using var negated = Map(op, b, PointwiseOp.Identity, -1.0, 0.0);
                    Launch(a, negated, result, BinaryOp.Add);
                    break;
                }
            default:
                {
                    using var reciprocal = Map(op, b, PointwiseOp.Reciprocal, 1.0, 0.0);
                    Launch(a, reciprocal, result, BinaryOp.Mul);
                    break;
                }
        }
        return result;
    }

    /// <summary>target += other (other broadcast to target's shape), in place; target must be contiguous.</summary>
    public static void AddInPlace(Tensor target, Tensor other)
    {
        OpChecks.GpuInputs("add_", target, other);
        if (!target.IsContiguous)
            throw new NotSupportedException($"add_: the destination {target.ShapeText} on {target.Device} is a strided view; on cuda it must be contiguous (accumulate into Contiguous() or a Clone())");
        CheckRank("add_", target.Shape, $"destination {target.ShapeText}");
        if (target.Numel == 0) return;
        // Each output element reads its own destination element before writing it, so the destination may be operand a;
        // other must not overlap it (a broadcast read of an element another thread is overwriting), so a copy is taken.
        using var source = ReferenceEquals(other.Storage, target.Storage) ? other.CopyContiguous() : other.Alias();
        Launch(target, source, target, BinaryOp.Add);
    }

    /// <summary>y = f(x)·scale + shift, a new contiguous tensor in x's dtype on x's device.</summary>
    public static Tensor Map(string op, Tensor x, PointwiseOp f, double scale, double shift)
    {
        var dtype = OpChecks.GpuInputs(op, x);
        using var xc = x.CopyIfStrided();
        var y = Gpu.EmptyLike(xc);
        var kernels = Gpu.Kernels<PointwiseGpu>(x);
        if (dtype == DType.F32) kernels.Map(Gpu.Stream(x), Gpu.F32(xc), Gpu.F32(y), f, (float)scale, (float)shift);
        else kernels.Map(Gpu.Stream(x), Gpu.Bf16(xc), Gpu.Bf16(y), f, (float)scale, (float)shift);
        return y;
    }

    /// <summary>output = a ∘ b into the contiguous <paramref name="output"/> of the broadcast shape.</summary>
    private static void Launch(Tensor a, Tensor b, Tensor output, BinaryOp op)
    {
        var kernels = Gpu.Kernels<BroadcastGpu>(output);
        var stream = Gpu.Stream(output);
        bool f32 = output.DType == DType.F32;
        if (a.IsContiguous && b.IsContiguous)
        {
            // Contiguous operands: the dense path (no index arithmetic) when the shapes are equal.
            int[] aShape = KernelShape(a), bShape = KernelShape(b);
            if (f32) kernels.Binary(stream, Gpu.F32(a), aShape, Gpu.F32(b), bShape, Gpu.F32(output), op);
            else kernels.Binary(stream, Gpu.Bf16(a), aShape, Gpu.Bf16(b), bShape, Gpu.Bf16(output), op);
        }
        else if (f32) kernels.Binary(stream, Whole<float>(a), Layout(a), Whole<float>(b), Layout(b), Gpu.F32(output), op);
        else kernels.Binary(stream, Whole<ushort>(a), Layout(a), Whole<ushort>(b), Layout(b), Gpu.Bf16(output), op);
    }

    /// <summary>The tensor's shape as the kernels take it: a scalar is one element of rank 1.</summary>
    public static int[] KernelShape(Tensor t) => t.Rank == 0 ? [1] : t.ShapeArray();

    /// <summary>The tensor's view (shape, strides, offset) of its storage, for kernels that read views in place.</summary>
    public static StridedLayout Layout(Tensor t)
    {
        if (t.Rank == 0) return StridedLayout.Create([1], [0], checked((int)t.Offset));
        var strides = new int[t.Rank];
        for (int i = 0; i < t.Rank; i++) strides[i] = checked((int)t.Strides[i]);
        return StridedLayout.Create(t.Shape, strides, checked((int)t.Offset));
    }

    /// <summary>All of a cuda tensor's storage as T (the buffer a <see cref="Layout"/> indexes).</summary>
    public static ArrayView<T> Whole<T>(Tensor t) where T : unmanaged
    {
        var storage = (GpuStorage)t.Storage;
        return storage.View<T>(0, storage.Length);
    }

    /// <summary>The kernels index up to <see cref="StridedLayout.MaxRank"/> axes.</summary>
    public static void CheckRank(string op, ReadOnlySpan<int> shape, string what)
    {
        if (shape.Length > StridedLayout.MaxRank)
            throw new NotSupportedException($"{op}: {what} has {shape.Length} axes; on cuda at most {StridedLayout.MaxRank} are supported (reshape to fewer axes)");
    }
}

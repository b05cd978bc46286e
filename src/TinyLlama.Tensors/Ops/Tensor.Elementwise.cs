using System.Numerics;
using System.Numerics.Tensors;

namespace TinyLlama.Tensors;

internal enum BinaryKind { Add, Sub, Mul, Div }

/// <summary>Elementwise arithmetic with NumPy broadcasting; contiguous rows go through TensorPrimitives.</summary>
public sealed partial class Tensor
{
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);
    public static Tensor operator +(Tensor a, double s) => a.AddScalar(s);
    public static Tensor operator -(Tensor a, double s) => a.AddScalar(-s);
    public static Tensor operator *(Tensor a, double s) => a.Scale(s);
    public static Tensor operator *(double s, Tensor a) => a.Scale(s);
    public static Tensor operator /(Tensor a, double s) => a.Scale(1.0 / s);
    public static Tensor operator -(Tensor a) => a.Neg();

    public static Tensor Add(Tensor a, Tensor b) => Binary("add", a, b, BinaryKind.Add);
    public static Tensor Sub(Tensor a, Tensor b) => Binary("sub", a, b, BinaryKind.Sub);
    public static Tensor Mul(Tensor a, Tensor b) => Binary("mul", a, b, BinaryKind.Mul);
    public static Tensor Div(Tensor a, Tensor b) => Binary("div", a, b, BinaryKind.Div);

    private static Tensor Binary(string op, Tensor a, Tensor b, BinaryKind kind)
    {
        // On cuda only the forward differs: the Functions' backward is made of these ops, so it follows the device.
        if (OpChecks.AnyOnGpu(a, b)) return Autograd.Record(GpuElementwise.Binary(op, a, b, kind), BinaryFunction(a, b, kind), a, b);
        var dtype = OpChecks.ComputeInputs(op, a, b);
        var shape = Shapes.Broadcast(op, a.Shape, b.Shape);
        var result = new Tensor(shape, dtype, zeroed: false);
        if (dtype == DType.F32) BinaryInto<float>(a, b, result, kind); else BinaryInto<double>(a, b, result, kind);
        return Autograd.Record(result, BinaryFunction(a, b, kind), a, b);
    }

    private static Function BinaryFunction(Tensor a, Tensor b, BinaryKind kind) => kind switch
    {
        BinaryKind.Add => new AddFunction(a.ShapeArray(), b.ShapeArray(), subtract: false),
        BinaryKind.Sub => new AddFunction(a.ShapeArray(), b.ShapeArray(), subtract: true),
        BinaryKind.Mul => new MulFunction(a, b),
        _ => new DivFunction(a, b),
    };

    /// <summary>
    /// this += other (other broadcast to this shape); not recorded by autograd. Used for gradient accumulation, so it
    /// takes every dtype a gradient can have: f32 and f64 on the CPU, f32 and bf16 on cuda, and bf16 on the CPU
    /// (a cast's gradient), added in f32 and rounded once.
    /// </summary>
    public void AddInPlace(Tensor other)
    {
        ThrowIfDisposed("add_");
        ArgumentNullException.ThrowIfNull(other);
        other.ThrowIfDisposed("add_");
        var shape = Shapes.Broadcast("add_", Shape, other.Shape);
        if (!shape.AsSpan().SequenceEqual(Shape))
            throw new ArgumentException($"add_: {other.ShapeText} cannot be added in place to {ShapeText}");
        if (OpChecks.AnyOnGpu(this, other))
        {
            GpuElementwise.AddInPlace(this, other);
            return;
        }
        if (DType == DType.BF16 && other.DType == DType.BF16)
        {
            AddInPlaceBf16(other);
            return;
        }
        var dtype = OpChecks.ComputeInputs("add_", this, other);
        if (dtype == DType.F32) BinaryInto<float>(this, other, this, BinaryKind.Add); else BinaryInto<double>(this, other, this, BinaryKind.Add);
    }

    private void AddInPlaceBf16(Tensor other)
    {
        using var noGrad = GradMode.NoGrad();
        using var sum = To(DType.F32);
        using var addend = other.To(DType.F32);
        sum.AddInPlace(addend);
        using var rounded = sum.To(DType.BF16);
        CopyElements(rounded, this);
    }

    /// <summary>Strides that read <paramref name="t"/> as if it had <paramref name="shape"/> (0 on broadcast axes).</summary>
    internal static long[] BroadcastStrides(Tensor t, ReadOnlySpan<int> shape)
    {
        var strides = new long[shape.Length];
        int lead = shape.Length - t.Rank;
        for (int i = 0; i < t.Rank; i++)
            strides[lead + i] = t._shape[i] == 1 ? 0 : t._strides[i];
        return strides;
    }

    private static unsafe void BinaryInto<T>(Tensor a, Tensor b, Tensor output, BinaryKind kind)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (output.Numel == 0) return;
        T* pa = (T*)a.CpuStorageFor("elementwise").Pointer, pb = (T*)b.CpuStorageFor("elementwise").Pointer, po = (T*)output.CpuStorageFor("elementwise").Pointer;
        var shape = output._shape;
        if (a.IsContiguous && b.IsContiguous && output.IsContiguous && a.Shape.SequenceEqual(shape) && b.Shape.SequenceEqual(shape))
        {
            int n = checked((int)output.Numel);
            Row(new ReadOnlySpan<T>(pa + a.Offset, n), new ReadOnlySpan<T>(pb + b.Offset, n), new Span<T>(po + output.Offset, n), 1, 1, kind);
            return;
        }
        int rank = Math.Max(shape.Length, 1);
        int[] loopShape = shape.Length == 0 ? [1] : shape;
        long[] sa = shape.Length == 0 ? [0] : BroadcastStrides(a, shape), sb = shape.Length == 0 ? [0] : BroadcastStrides(b, shape);
        long[] so = shape.Length == 0 ? [0] : output._strides;
        int cols = loopShape[rank - 1];
        long ia = sa[rank - 1], ib = sb[rank - 1], io = so[rank - 1];
        StridedLoop.ForEachRow(loopShape, [sa, sb, so], [a.Offset, b.Offset, output.Offset], off =>
        {
            T* ra = pa + off[0], rb = pb + off[1], ro = po + off[2];
            if (io == 1 && (ia == 1 || ia == 0) && (ib == 1 || ib == 0))
                Row(new ReadOnlySpan<T>(ra, ia == 0 ? 1 : cols), new ReadOnlySpan<T>(rb, ib == 0 ? 1 : cols), new Span<T>(ro, cols), ia, ib, kind);
            else
                for (int i = 0; i < cols; i++) ro[i * io] = Apply(ra[i * ia], rb[i * ib], kind);
        });
    }

    /// <summary>One contiguous row; an operand with step 0 is a scalar broadcast along the row.</summary>
    private static void Row<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> o, long stepA, long stepB, BinaryKind kind)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (stepA != 0 && stepB != 0)
        {
            switch (kind)
            {
                case BinaryKind.Add: TensorPrimitives.Add(a, b, o); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(a, b, o); break;
                case BinaryKind.Mul: TensorPrimitives.Multiply(a, b, o); break;
                default: TensorPrimitives.Divide(a, b, o); break;
            }
        }
        else if (stepB == 0 && stepA != 0)
        {
            switch (kind)
            {
                case BinaryKind.Add: TensorPrimitives.Add(a, b[0], o); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(a, b[0], o); break;
                case BinaryKind.Mul: TensorPrimitives.Multiply(a, b[0], o); break;
                default: TensorPrimitives.Divide(a, b[0], o); break;
            }
        }
        else if (stepA == 0 && stepB != 0)
        {
            switch (kind)
            {
                case BinaryKind.Add: TensorPrimitives.Add(b, a[0], o); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(a[0], b, o); break;
                case BinaryKind.Mul: TensorPrimitives.Multiply(b, a[0], o); break;
                default: TensorPrimitives.Divide(a[0], b, o); break;
            }
        }
        else o.Fill(Apply(a[0], b[0], kind));
    }

    private static T Apply<T>(T x, T y, BinaryKind kind) where T : IBinaryFloatingPointIeee754<T> => kind switch
    {
        BinaryKind.Add => x + y,
        BinaryKind.Sub => x - y,
        BinaryKind.Mul => x * y,
        _ => x / y,
    };
}

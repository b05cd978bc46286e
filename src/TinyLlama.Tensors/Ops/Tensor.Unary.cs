using System.Numerics;
using System.Numerics.Tensors;
using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal enum UnaryKind { Neg, Exp, Log, Square, Sqrt }

/// <summary>Elementwise functions of one tensor and scalar arithmetic.</summary>
public sealed partial class Tensor
{
    public Tensor Neg() => Unary("neg", UnaryKind.Neg);
    public Tensor Exp() => Unary("exp", UnaryKind.Exp);
    public Tensor Log() => Unary("log", UnaryKind.Log);
    public Tensor Square() => Unary("square", UnaryKind.Square);
    public Tensor Sqrt() => Unary("sqrt", UnaryKind.Sqrt);

    /// <summary>this · s (on cuda, s is rounded to f32: the kernels compute in f32).</summary>
    public Tensor Scale(double s)
    {
        Tensor result;
        if (OpChecks.AnyOnGpu(this)) result = GpuElementwise.Map("scale", this, PointwiseOp.Identity, s, 0.0);
        else
        {
            OpChecks.ComputeInputs("scale", this);
            result = MapContiguous(this, s, 0.0);
        }
        return Autograd.Record(result, new ScaleFunction(s), this);
    }

    /// <summary>this + s (on cuda, s is rounded to f32).</summary>
    public Tensor AddScalar(double s)
    {
        Tensor result;
        if (OpChecks.AnyOnGpu(this)) result = GpuElementwise.Map("add", this, PointwiseOp.Identity, 1.0, s);
        else
        {
            OpChecks.ComputeInputs("add", this);
            result = MapContiguous(this, 1.0, s);
        }
        return Autograd.Record(result, new IdentityFunction("add_scalar"), this);
    }

    private Tensor Unary(string op, UnaryKind kind)
    {
        if (OpChecks.AnyOnGpu(this))
        {
            // The UnaryFunction's backward is made of tensor ops, so it runs on the device too.
            var (f, scale) = PointwiseOf(kind);
            var y = GpuElementwise.Map(op, this, f, scale, 0.0);
            return Autograd.Record(y, new UnaryFunction(op, kind, this, y), this);
        }
        var dtype = OpChecks.ComputeInputs(op, this);
        using var x = CopyIfStrided();
        var result = new Tensor(ShapeArray(), dtype, zeroed: false);
        if (dtype == DType.F32) UnaryInto<float>(x.AsSpan<float>(), result.AsSpan<float>(), kind);
        else UnaryInto<double>(x.AsSpan<double>(), result.AsSpan<double>(), kind);
        return Autograd.Record(result, new UnaryFunction(op, kind, this, result), this);
    }

    /// <summary>The GPU kernel's f and scale for a unary op: −x is x·(−1).</summary>
    private static (PointwiseOp F, double Scale) PointwiseOf(UnaryKind kind) => kind switch
    {
        UnaryKind.Neg => (PointwiseOp.Identity, -1.0),
        UnaryKind.Exp => (PointwiseOp.Exp, 1.0),
        UnaryKind.Log => (PointwiseOp.Log, 1.0),
        UnaryKind.Square => (PointwiseOp.Square, 1.0),
        _ => (PointwiseOp.Sqrt, 1.0),
    };

    private static void UnaryInto<T>(ReadOnlySpan<T> x, Span<T> y, UnaryKind kind)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>, IExponentialFunctions<T>, ILogarithmicFunctions<T>, IRootFunctions<T>
    {
        switch (kind)
        {
            case UnaryKind.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryKind.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryKind.Log: TensorPrimitives.Log(x, y); break;
            case UnaryKind.Square: TensorPrimitives.Multiply(x, x, y); break;
            default: TensorPrimitives.Sqrt(x, y); break;
        }
    }

    /// <summary>y = x · scale + shift over a contiguous copy of the input.</summary>
    private static Tensor MapContiguous(Tensor t, double scale, double shift)
    {
        using var x = t.CopyIfStrided();
        var result = new Tensor(t.ShapeArray(), t.DType, zeroed: false);
        if (t.DType == DType.F32) Affine(x.AsSpan<float>(), (float)scale, (float)shift, result.AsSpan<float>());
        else Affine(x.AsSpan<double>(), scale, shift, result.AsSpan<double>());
        return result;
    }

    private static void Affine<T>(ReadOnlySpan<T> x, T scale, T shift, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(x, scale, y);
        if (shift != T.Zero) TensorPrimitives.Add(y, shift, y);
    }

    /// <summary>A contiguous view of this tensor's data (sharing storage when possible), never recorded by autograd.</summary>
    internal Tensor CopyIfStrided() => IsContiguous ? new Tensor(Storage, _shape, _strides, Offset, takeReference: true) : CopyContiguous();
}

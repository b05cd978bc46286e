using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

public sealed partial class Tensor
{
    /// <summary>
    /// A copy converted to <paramref name="dtype"/>. Narrowing to bf16 rounds to nearest even. Casts among the dtypes
    /// that can require grad (f32, f64, bf16) are differentiable: the gradient is cast back to the input's dtype, so
    /// bf16 weights can train through an f32 computation. Casts to or from f16 and i32 are not (storage formats, ids).
    /// On cuda: f32 ↔ bf16 and same-dtype copies (other casts go through the cpu).
    /// </summary>
    public Tensor To(DType dtype)
    {
        ThrowIfDisposed("to");
        Tensor result;
        if (Device.Kind == DeviceKind.Cuda) result = GpuCast.To(this, dtype);
        else if (DType == dtype) result = CopyContiguous();
        else
        {
            using var src = CopyIfStrided();
            result = new Tensor(ShapeArray(), dtype, zeroed: false);
            Store(src.ToFloatOrDouble(), result);
        }
        return CarriesGrad(DType) && CarriesGrad(dtype)
            ? Autograd.Record(result, new CastFunction(DType), this)
            : result;
    }

    /// <summary>The dtypes a tensor that requires grad may have (see <see cref="RequiresGrad"/>).</summary>
    private static bool CarriesGrad(DType dtype) => dtype is DType.F32 or DType.F64 or DType.BF16;

    // Widen to float where that is exact, to double for f64 and i32.
    private Array ToFloatOrDouble()
    {
        switch (DType)
        {
            case DType.F32: return AsSpan<float>().ToArray();
            case DType.F64: return AsSpan<double>().ToArray();
            case DType.BF16: { var s = AsSpan<ushort>(); var f = new float[s.Length]; BFloat16.ToFloat(s, f); return f; }
            case DType.F16: { var s = AsSpan<Half>(); var f = new float[s.Length]; for (int i = 0; i < s.Length; i++) f[i] = (float)s[i]; return f; }
            default: { var s = AsSpan<int>(); var d = new double[s.Length]; for (int i = 0; i < s.Length; i++) d[i] = s[i]; return d; }
        }
    }

    private static void Store(Array values, Tensor result)
    {
        int n = values.Length;
        double At(int i) => values is float[] f ? f[i] : ((double[])values)[i];
        switch (result.DType)
        {
            case DType.F32:
                { var d = result.AsSpan<float>(); for (int i = 0; i < n; i++) d[i] = (float)At(i); break; }
            case DType.F64:
                { var d = result.AsSpan<double>(); for (int i = 0; i < n; i++) d[i] = At(i); break; }
            case DType.BF16 when values is float[] f32:
                BFloat16.FromFloat(f32, result.AsSpan<ushort>()); break;
            case DType.BF16:
                { var d = result.AsSpan<ushort>(); for (int i = 0; i < n; i++) d[i] = BFloat16.FromFloat((float)At(i)); break; }
            case DType.F16:
                { var d = result.AsSpan<Half>(); for (int i = 0; i < n; i++) d[i] = (Half)At(i); break; }
            default:
                { var d = result.AsSpan<int>(); for (int i = 0; i < n; i++) d[i] = checked((int)Math.Round(At(i))); break; }
        }
    }
}

internal sealed class CastFunction(DType inputType) : Function
{
    public override string Name => "to";

    protected internal override Tensor?[] Backward(Tensor g) => [g.To(inputType)];
}

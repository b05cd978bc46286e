namespace TinyLlama.Kernels;

/// <summary>The function f of a pointwise map y = f(x)·scale + shift.</summary>
public enum PointwiseOp
{
    /// <summary>f(x) = x: with scale and shift, the affine map (scale, add a scalar, negate).</summary>
    Identity = 0,
    Exp = 1,
    /// <summary>Natural logarithm; NaN for x &lt; 0, −∞ at 0.</summary>
    Log = 2,
    Square = 3,
    Sqrt = 4,
    /// <summary>f(x) = 1/x: a division by a tensor is a multiplication by its reciprocal.</summary>
    Reciprocal = 5,
}

/// <summary>
/// y[i] = f(x[i])·scale + shift, one element at a time, for the tensor ops with a scalar operand (x·s, x + s, −x) and
/// the elementwise functions (exp, log, x², √x, 1/x). The scalars are kernel arguments, so a scalar op needs no
/// host→device transfer. Computed in f32 on the fast paths (double in the reference), rounded once to the storage type.
/// </summary>
public static class Pointwise
{
    /// <summary>The definition, in double, rounded once.</summary>
    public static void MapReference(ReadOnlySpan<float> x, Span<float> y, PointwiseOp op, float scale = 1f, float shift = 0f)
    {
        Check("Pointwise.MapReference", x.Length, y.Length, op);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double f = op switch
            {
                PointwiseOp.Identity => v,
                PointwiseOp.Exp => Math.Exp(v),
                PointwiseOp.Log => Math.Log(v),
                PointwiseOp.Square => v * v,
                PointwiseOp.Sqrt => Math.Sqrt(v),
                _ => 1.0 / v,
            };
            y[i] = (float)(f * scale + shift);
        }
    }

    /// <summary>Device side: f(x) in f32 for an op code of <see cref="PointwiseOp"/>.</summary>
    public static float Apply(float x, int op) =>
        op == (int)PointwiseOp.Identity ? x
        : op == (int)PointwiseOp.Exp ? MathF.Exp(x)
        : op == (int)PointwiseOp.Log ? MathF.Log(x)
        : op == (int)PointwiseOp.Square ? x * x
        : op == (int)PointwiseOp.Sqrt ? MathF.Sqrt(x)
        : 1f / x;

    internal static void Check(string name, long x, long y, PointwiseOp op)
    {
        if (op is < PointwiseOp.Identity or > PointwiseOp.Reciprocal)
            throw new ArgumentOutOfRangeException(nameof(op), op, $"{name}: op {op} is not a PointwiseOp");
        KernelArgs.Length(name, "y", y, x, "x.Length");
    }
}

using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
// The tables themselves (Tables) are computed in double and are their own definition.
public static partial class Rope
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>; y may alias x.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Rope.ForwardReference", "x", x.Length, "y", y.Length, batch, seqLen, heads, headSize, cos.Length, sin.Length, startPos);
        RotateReference(x, y, batch, seqLen, heads, headSize, cos, sin, startPos, sign: 1);
    }

    /// <summary>Scalar reference of <see cref="Backward{T}"/>: dx = Rᵀ·dy, the rotation by −angle.</summary>
    public static void BackwardReference<T>(ReadOnlySpan<T> dy, Span<T> dx, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Rope.BackwardReference", "dy", dy.Length, "dx", dx.Length, batch, seqLen, heads, headSize, cos.Length, sin.Length, startPos);
        RotateReference(dy, dx, batch, seqLen, heads, headSize, cos, sin, startPos, sign: -1);
    }

    static void RotateReference<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos, int sign)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int half = headSize / 2;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < seqLen; t++)
                for (int h = 0; h < heads; h++)
                {
                    int o = ((b * seqLen + t) * heads + h) * headSize, p = startPos + t;
                    for (int i = 0; i < half; i++)
                    {
                        double c = double.CreateChecked(cos[p * half + i]), s = sign * double.CreateChecked(sin[p * half + i]);
                        double x1 = double.CreateChecked(x[o + i]), x2 = double.CreateChecked(x[o + i + half]);
                        y[o + i] = T.CreateChecked(x1 * c - x2 * s);
                        y[o + i + half] = T.CreateChecked(x2 * c + x1 * s);
                    }
                }
    }
}

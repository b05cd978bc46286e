using System.Numerics;

namespace TinyLlama.Kernels;

/// <summary>
/// Rotary position embedding, rotate-half form (HF Llama, TinyLlama): for a head vector x of size Hs, half = Hs/2,
/// position p, frequency index i &lt; half:
///   y[i]        = x[i]·cos(p·θᵢ) − x[i+half]·sin(p·θᵢ)
///   y[i+half]   = x[i+half]·cos(p·θᵢ) + x[i]·sin(p·θᵢ),   θᵢ = base^(−2i/Hs).
/// Layout: x, y (B, T, H, Hs); cos, sin tables (maxT, Hs/2) from <see cref="Tables{T}"/>; token t has position startPos + t.
/// </summary>
public static partial class Rope
{
    /// <summary>Fills cos and sin, each (maxT, headSize/2), computed in double then rounded.</summary>
    public static void Tables<T>(int maxT, int headSize, double theta, Span<T> cos, Span<T> sin)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>y may alias x (in place).</summary>
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>The transpose of the rotation (rotate by −angle); dx may alias dy.</summary>
    public static void Backward<T>(ReadOnlySpan<T> dy, Span<T> dx, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class SwiGlu
{
    /// <summary>Scalar reference of <see cref="SiluForward{T}"/>.</summary>
    public static void SiluForwardReference<T>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void SiluBackwardReference<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void ForwardReference<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void BackwardReference<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, ReadOnlySpan<T> dy, Span<T> dGate, Span<T> dUp)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

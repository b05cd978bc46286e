using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class Rope
{
    /// <summary>Scalar reference of <see cref="Tables{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void BackwardReference<T>(ReadOnlySpan<T> dy, Span<T> dx, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

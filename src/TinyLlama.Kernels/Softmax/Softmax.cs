using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class Softmax
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> x, Span<T> y, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void BackwardReference<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

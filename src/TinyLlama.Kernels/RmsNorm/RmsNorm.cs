using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class RmsNorm
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, Span<T> y, Span<T> invRms,
        int rows, int cols, T eps)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void BackwardReference<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> weight, ReadOnlySpan<T> invRms,
        Span<T> dx, Span<T> dWeight, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

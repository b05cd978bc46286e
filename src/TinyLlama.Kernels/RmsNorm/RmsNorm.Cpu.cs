using System.Numerics;

namespace TinyLlama.Kernels;

/// <summary>
/// RMSNorm over the last axis: y = x · invRms · w, invRms = 1 / sqrt(mean(x²) + eps).
/// x, y: (rows, cols); weight: (cols); invRms: (rows), saved for backward.
/// </summary>
public static partial class RmsNorm
{
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, Span<T> y, Span<T> invRms,
        int rows, int cols, T eps)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>dx is written (=); dWeight is accumulated (+=), so parameter gradients add up across calls.</summary>
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> weight, ReadOnlySpan<T> invRms,
        Span<T> dx, Span<T> dWeight, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

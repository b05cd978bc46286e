using System.Numerics;

namespace TinyLlama.Kernels;

/// <summary>Softmax over the last axis, max-subtracted: y = exp(x - max) / Σ exp(x - max). x, y: (rows, cols).</summary>
public static partial class Softmax
{
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>dx = y ⊙ (dy − Σ(dy ⊙ y)), written (=).</summary>
    public static void Backward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

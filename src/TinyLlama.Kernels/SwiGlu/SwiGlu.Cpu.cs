using System.Numerics;

namespace TinyLlama.Kernels;

/// <summary>
/// SiLU(x) = x·σ(x), and the fused SwiGLU gate of the Llama MLP: y = SiLU(gate) ⊙ up. All spans have n elements.
/// </summary>
public static partial class SwiGlu
{
    public static void SiluForward<T>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>dx = dy · σ(x)·(1 + x·(1 − σ(x))), written (=).</summary>
    public static void SiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void Forward<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>dGate and dUp are written (=).</summary>
    public static void Backward<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, ReadOnlySpan<T> dy, Span<T> dGate, Span<T> dUp)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

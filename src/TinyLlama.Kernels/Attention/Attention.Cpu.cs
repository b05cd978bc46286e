using System.Numerics;

namespace TinyLlama.Kernels;

/// <summary>
/// Causal scaled-dot-product attention with grouped-query heads (the plain version; FlashAttention comes with the GPU work).
/// q, out: (B, H, T, Hs); k, v: (B, KvH, T, Hs); query head h reads kv head h / (H / KvH) — no K/V copy per head.
/// probs: (B, H, T, T), the softmax of scale·q·kᵀ with positions j &gt; i masked out (stored as 0); saved for backward.
/// </summary>
public static partial class Attention
{
    public static void Forward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, Span<T> output, Span<T> probs,
        int batch, int heads, int kvHeads, int seqLen, int headSize, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>dq, dk, dv are written (=); dk and dv sum over the query heads that share a kv head.</summary>
    public static void Backward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> probs,
        ReadOnlySpan<T> dOutput, Span<T> dq, Span<T> dk, Span<T> dv,
        int batch, int heads, int kvHeads, int seqLen, int headSize, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class Attention
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, Span<T> output, Span<T> probs,
        int batch, int heads, int kvHeads, int seqLen, int headSize, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void BackwardReference<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> probs,
        ReadOnlySpan<T> dOutput, Span<T> dq, Span<T> dk, Span<T> dv,
        int batch, int heads, int kvHeads, int seqLen, int headSize, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

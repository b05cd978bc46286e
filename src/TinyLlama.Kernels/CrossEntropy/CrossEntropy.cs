using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class CrossEntropy
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static T ForwardReference<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, Span<T> logSumExp,
        int rows, int vocab, int ignoreIndex, out int count)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void BackwardReference<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, ReadOnlySpan<T> logSumExp,
        T gradScale, Span<T> dLogits, int rows, int vocab, int ignoreIndex)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

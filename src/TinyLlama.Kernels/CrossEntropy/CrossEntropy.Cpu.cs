using System.Numerics;

namespace TinyLlama.Kernels;

/// <summary>
/// Fused cross-entropy over logits (rows, vocab) with integer targets (rows):
/// loss_r = logsumexp(logits_r) − logits_r[target_r]; the result is the mean over rows whose target is not ignoreIndex.
/// The probabilities are never stored: backward recomputes them from the saved log-sum-exp.
/// </summary>
public static partial class CrossEntropy
{
    /// <summary>
    /// Returns the mean loss (0 when every row is ignored) and writes logSumExp (rows) and count (rows counted).
    /// Throws ArgumentOutOfRangeException naming the row when a target is outside [0, vocab) and not ignoreIndex.
    /// </summary>
    public static T Forward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, Span<T> logSumExp,
        int rows, int vocab, int ignoreIndex, out int count)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>
    /// dLogits_r = (softmax(logits_r) − onehot(target_r)) · gradScale, and 0 for ignored rows, written (=).
    /// For the mean loss, gradScale = dLoss / count.
    /// </summary>
    public static void Backward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, ReadOnlySpan<T> logSumExp,
        T gradScale, Span<T> dLogits, int rows, int vocab, int ignoreIndex)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

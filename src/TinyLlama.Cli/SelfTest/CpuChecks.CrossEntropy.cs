using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class CpuChecks
{
    /// <summary>PyTorch's default ignore_index, used for padding targets.</summary>
    private const int IgnoreIndex = -100;

    private delegate float CrossEntropyForwardFunction(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        Span<float> logSumExp, int rows, int vocab, int ignoreIndex, out int count);
    private delegate void CrossEntropyBackwardFunction(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        ReadOnlySpan<float> logSumExp, float gradScale, Span<float> dLogits, int rows, int vocab, int ignoreIndex);

    private static IEnumerable<KernelCheck> CrossEntropyChecks(SelfTestShapes shapes, int seed)
    {
        var (rows, vocab) = shapes.CrossEntropy;
        string shape = $"rows={rows} V={vocab}";
        // Inputs are shared by forward and backward, so the saved log-sum-exp matches the backward's logits.
        var random = new RandomData(seed, "cross-entropy");
        var logits = random.Uniform(rows * vocab); // (rows, V)
        var targets = random.Integers(rows, vocab); // (rows)
        // About one row in four is padding; row 0 never is, so the mean has at least one term.
        for (int r = 1; r < rows; r++)
            if (random.Chance(0.25)) targets[r] = IgnoreIndex;

        IReadOnlyList<float[]> RunForward(CrossEntropyForwardFunction forward)
        {
            var logSumExp = RandomData.Poisoned(rows);
            float loss = forward(logits, targets, logSumExp, rows, vocab, IgnoreIndex, out int count);
            return [[loss], logSumExp, [count]];
        }
        yield return new KernelCheck("cross-entropy forward", shape, Tolerances.ForSum(vocab),
            () => RunForward(CrossEntropy.Forward), () => RunForward(CrossEntropy.ForwardReference));

        var saved = new Lazy<(float[] LogSumExp, int Count)>(() =>
        {
            var logSumExp = new float[rows];
            CrossEntropy.ForwardReference<float>(logits, targets, logSumExp, rows, vocab, IgnoreIndex, out int count);
            return (logSumExp, count);
        });
        IReadOnlyList<float[]> RunBackward(CrossEntropyBackwardFunction backward)
        {
            var dLogits = RandomData.Poisoned(rows * vocab);
            // The gradient of the mean loss with dLoss = 1.
            backward(logits, targets, saved.Value.LogSumExp, 1f / saved.Value.Count, dLogits, rows, vocab, IgnoreIndex);
            return [dLogits];
        }
        yield return new KernelCheck("cross-entropy backward", shape, Tolerances.ForSum(vocab),
            () => RunBackward(CrossEntropy.Backward), () => RunBackward(CrossEntropy.BackwardReference));
    }
}

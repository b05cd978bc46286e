using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class CpuChecks
{
    private delegate void EmbeddingForwardFunction(ReadOnlySpan<float> table, ReadOnlySpan<int> ids, Span<float> output,
        int vocab, int channels);
    private delegate void EmbeddingBackwardFunction(ReadOnlySpan<float> dOutput, ReadOnlySpan<int> ids, Span<float> dTable,
        int vocab, int channels);

    private static IEnumerable<KernelCheck> EmbeddingChecks(SelfTestShapes shapes, int seed)
    {
        var (vocab, channels, tokens) = shapes.Embedding;
        string shape = $"V={vocab} C={channels} N={tokens}";
        var random = new RandomData(seed, "embedding");
        var table = random.Uniform(vocab * channels); // (V, C)
        // Ids drawn from the lower part of the vocabulary repeat, so the scatter-add must add, not overwrite;
        // the rows never drawn must come back untouched.
        var ids = random.Integers(tokens, Math.Max(1, Math.Min(vocab, tokens / 2))); // (N)
        var dOutput = random.Uniform(tokens * channels); // (N, C)
        var initialDTable = random.Uniform(vocab * channels); // accumulated into (+=)

        IReadOnlyList<float[]> RunForward(EmbeddingForwardFunction forward)
        {
            var output = RandomData.Poisoned(tokens * channels);
            forward(table, ids, output, vocab, channels);
            return [output];
        }
        yield return new KernelCheck("embedding forward", shape, Tolerances.Elementwise,
            () => RunForward(Embedding.Forward), () => RunForward(Embedding.ForwardReference));

        IReadOnlyList<float[]> RunBackward(EmbeddingBackwardFunction backward)
        {
            var dTable = (float[])initialDTable.Clone();
            backward(dOutput, ids, dTable, vocab, channels);
            return [dTable];
        }
        yield return new KernelCheck("embedding backward", shape, Tolerances.Elementwise,
            () => RunBackward(Embedding.Backward), () => RunBackward(Embedding.BackwardReference));
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class CpuChecks
{
    private delegate void AttentionForwardFunction(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, Span<float> probs, int batch, int heads, int kvHeads, int seqLen, int headSize, float scale);
    private delegate void AttentionBackwardFunction(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> probs, ReadOnlySpan<float> dOutput, Span<float> dq, Span<float> dk, Span<float> dv,
        int batch, int heads, int kvHeads, int seqLen, int headSize, float scale);

    private static IEnumerable<KernelCheck> AttentionChecks(SelfTestShapes shapes, int seed)
    {
        var (b, h, kvH, t, hs) = shapes.Attention;
        string shape = $"B={b} H={h} KvH={kvH} T={t} Hs={hs}";
        float scale = 1f / MathF.Sqrt(hs);
        var random = new RandomData(seed, "attention");
        var q = random.Uniform(b * h * t * hs);   // (B, H, T, Hs)
        var k = random.Uniform(b * kvH * t * hs); // (B, KvH, T, Hs)
        var v = random.Uniform(b * kvH * t * hs); // (B, KvH, T, Hs)
        var dOutput = random.Uniform(b * h * t * hs); // (B, H, T, Hs)
        // Scores sum over Hs, outputs over T keys; dk and dv also over the H / KvH query heads of a group.
        double tolerance = Tolerances.ForSum(Math.Max(t, hs));

        IReadOnlyList<float[]> RunForward(AttentionForwardFunction forward)
        {
            var output = RandomData.Poisoned(q.Length);
            var probs = RandomData.Poisoned(b * h * t * t); // (B, H, T, T); the masked half is written as 0
            forward(q, k, v, output, probs, b, h, kvH, t, hs, scale);
            return [output, probs];
        }
        yield return new KernelCheck("attention forward", shape, tolerance,
            () => RunForward(Attention.Forward), () => RunForward(Attention.ForwardReference));

        var savedProbs = new Lazy<float[]>(() =>
        {
            var probs = new float[b * h * t * t];
            Attention.ForwardReference<float>(q, k, v, new float[q.Length], probs, b, h, kvH, t, hs, scale);
            return probs;
        });
        IReadOnlyList<float[]> RunBackward(AttentionBackwardFunction backward)
        {
            var dq = RandomData.Poisoned(q.Length);
            var dk = RandomData.Poisoned(k.Length);
            var dv = RandomData.Poisoned(v.Length);
            backward(q, k, v, savedProbs.Value, dOutput, dq, dk, dv, b, h, kvH, t, hs, scale);
            return [dq, dk, dv];
        }
        yield return new KernelCheck("attention backward", shape, tolerance,
            () => RunBackward(Attention.Backward), () => RunBackward(Attention.BackwardReference));
    }
}

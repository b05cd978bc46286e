using BenchmarkDotNet.Attributes;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks;

/// <summary>
/// Fused cross-entropy on the LM head's logits (tokens × V, Llama-2 V = 32000). Bytes counted: forward reads the
/// logits once (4 per element; the second pass over each row hits cache); backward reads logits and writes
/// dLogits (8 per element).
/// </summary>
[Config(typeof(MemoryBoundConfig))]
public class CrossEntropyBenchmarks : MemoryBoundBenchmark
{
    [Params(2048)] public int Rows;
    [Params(32000)] public int Vocab;

    float[] logits = [], logSumExp = [], dLogits = [];
    int[] targets = [];

    [GlobalSetup]
    public void Setup()
    {
        int n = Rows * Vocab;
        logits = RandomArray(n, 1, 10);
        targets = new int[Rows];
        var random = new Random(2);
        for (int r = 0; r < Rows; r++) targets[r] = r % 17 == 0 ? -100 : random.Next(Vocab);
        (logSumExp, dLogits) = (new float[Rows], new float[n]);
        SetUpCopy(n);

        const int rows = 4;
        int m = rows * Vocab;
        var (lseRef, lse) = (new float[rows], new float[rows]);
        float lossRef = CrossEntropy.ForwardReference<float>(logits.AsSpan(0, m), targets.AsSpan(0, rows), lseRef, rows, Vocab, -100, out _);
        float loss = CrossEntropy.Forward<float>(logits.AsSpan(0, m), targets.AsSpan(0, rows), lse, rows, Vocab, -100, out _);
        Validate([lossRef], [loss], 1e-4, "CrossEntropy.Forward loss");
        Validate(lseRef, lse, 1e-4, "CrossEntropy.Forward logSumExp");
        var dRef = new float[m];
        CrossEntropy.BackwardReference<float>(logits.AsSpan(0, m), targets.AsSpan(0, rows), lseRef, 0.25f, dRef, rows, Vocab, -100);
        CrossEntropy.Backward<float>(logits.AsSpan(0, m), targets.AsSpan(0, rows), lseRef, 0.25f, dLogits.AsSpan(0, m), rows, Vocab, -100);
        Validate(dRef, dLogits.AsSpan(0, m), 1e-4, "CrossEntropy.Backward");

        CrossEntropy.Forward<float>(logits, targets, logSumExp, Rows, Vocab, -100, out _);
    }

    [Benchmark, BytesPerElement(4)]
    public float Forward() => CrossEntropy.Forward<float>(logits, targets, logSumExp, Rows, Vocab, -100, out _);

    [Benchmark, BytesPerElement(8)]
    public void Backward() => CrossEntropy.Backward<float>(logits, targets, logSumExp, 1f / Rows, dLogits, Rows, Vocab, -100);
}

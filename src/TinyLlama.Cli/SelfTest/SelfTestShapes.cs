namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// Problem sizes of a self-test run. Medium is shaped like a small Llama layer but stays quick on a laptop CPU;
/// small runs in a blink for unit tests. Odd sizes on purpose: they leave SIMD tails and partial tiles.
/// Vocabulary: B batch, T time, H heads, KvH kv heads, Hs head size, V vocab, C channels.
/// </summary>
internal sealed record SelfTestShapes(
    string Name,
    (int M, int N, int K) Gemm,
    (int Batch, int M, int N, int K) GemmBatched,
    (int Rows, int Cols) RmsNorm,
    (int Rows, int Cols) Softmax,
    (int B, int T, int H, int Hs, int StartPos) Rope,
    (int Rows, int Cols) Elementwise,
    (int Rows, int Vocab) CrossEntropy,
    (int V, int C, int Tokens) Embedding,
    (int B, int H, int KvH, int T, int Hs) Attention,
    int Bf16Count)
{
    /// <summary>Elements of the optimizer checks (AdamW, grad-norm clip): GPU self-test only.</summary>
    public int AdamWCount { get; init; } = 4099;

    /// <summary>
    /// The GPU FlashAttention rows' problem: head sizes the kernels support (16, 64, 128), unlike the CPU checks'
    /// <see cref="Attention"/>. GPU self-test only.
    /// </summary>
    public (int B, int H, int KvH, int T, int Hs) FlashAttention { get; init; } = (1, 2, 1, 19, 16);

    /// <summary>A TinyLlama projection shape for one more tensor-core GEMM row, when set. GPU self-test only.</summary>
    public (int M, int N, int K)? GemmProjection { get; init; }

    public static readonly SelfTestShapes Medium = new(
        Name: "medium",
        Gemm: (257, 129, 65),
        GemmBatched: (3, 65, 33, 47),
        RmsNorm: (64, 2048),
        Softmax: (64, 1025),
        Rope: (2, 64, 8, 64, 3),
        Elementwise: (64, 5632),
        CrossEntropy: (64, 4096),
        Embedding: (4096, 256, 512),
        Attention: (2, 8, 4, 64, 32),
        Bf16Count: 1 << 16);

    public static readonly SelfTestShapes Small = new(
        Name: "small",
        Gemm: (19, 11, 23),
        GemmBatched: (2, 7, 5, 9),
        RmsNorm: (3, 37),
        Softmax: (3, 37),
        Rope: (1, 5, 2, 8, 2),
        Elementwise: (3, 37),
        CrossEntropy: (4, 53),
        Embedding: (11, 7, 9),
        Attention: (1, 4, 2, 7, 8),
        Bf16Count: 4096);

    /// <summary>
    /// Realistic sizes for <c>selftest --device cuda</c> (issue #5): rows = B·T = 16384 of C = 2048, a 2048³ GEMM and
    /// the MLP's gate/up projection over 2048 tokens, RoPE at B=8 T=2048 H=32 Hs=64. Two are cut down because the CPU
    /// reference would take too long or too much memory: cross-entropy uses 8192 rows of V = 32000 (1 GB of f32
    /// logits, not 2 GB), and FlashAttention B=1 with 16 of the 32 heads (KvH 2, the model's GQA ratio 8) at T=2048,
    /// Hs=64, since the CPU attention materialises (B, H, T, T) probabilities.
    /// </summary>
    public static readonly SelfTestShapes Gpu = new(
        Name: "gpu",
        Gemm: (2048, 2048, 2048),
        GemmBatched: (4, 256, 256, 256),
        RmsNorm: (16384, 2048),
        Softmax: (16384, 2048),
        Rope: (8, 2048, 32, 64, 0),
        Elementwise: (16384, 2048),
        CrossEntropy: (8192, 32000),
        Embedding: (32000, 2048, 16384),
        Attention: (1, 16, 2, 2048, 64),
        Bf16Count: 1 << 24)
    {
        AdamWCount = 1 << 24,
        FlashAttention = (1, 16, 2, 2048, 64),
        GemmProjection = (2048, 5632, 2048),
    };

    /// <summary>
    /// The GPU rows on the simulated device (ILGPU's CPU accelerator, one OS thread per lane): odd tiny sizes, a
    /// handful of groups per launch, so the whole GPU self-test finishes in seconds.
    /// </summary>
    public static readonly SelfTestShapes GpuSimulated = Small with { Name = "gpu-sim" };
}

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
}

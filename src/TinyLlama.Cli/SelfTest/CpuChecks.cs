namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// The CPU self-test: every forward and backward kernel against its scalar reference, in float (the training type).
/// Each op's checks live in a partial file beside this one. Conventions shared by all of them:
/// outputs that a kernel writes (=) start as NaN so a forgotten element fails; outputs that it accumulates (+=) start
/// as the same random values in both runs so the accumulation itself is checked; a backward check takes its saved
/// tensors (invRms, probs, log-sum-exp) from the reference forward, so it fails only for its own bugs.
/// </summary>
internal static partial class CpuChecks
{
    public static IReadOnlyList<KernelCheck> Create(SelfTestShapes shapes, int seed) =>
    [
        .. MatMulChecks(shapes, seed),
        .. NormalizationChecks(shapes, seed),
        .. RopeChecks(shapes, seed),
        .. SwiGluChecks(shapes, seed),
        .. CrossEntropyChecks(shapes, seed),
        .. EmbeddingChecks(shapes, seed),
        .. AttentionChecks(shapes, seed),
        .. BFloat16Checks(shapes, seed),
    ];

    private static string RowsCols(int rows, int cols) => $"rows={rows} cols={cols}";
}

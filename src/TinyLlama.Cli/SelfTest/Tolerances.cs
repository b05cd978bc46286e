namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// Tolerances on <see cref="ErrorMeasure"/>, from DESIGN.md. The rule: an output element that is a short formula of
/// a few inputs (SiLU, SwiGLU, RoPE, embedding rows) must match to 1e-5; one that sums a long axis (a GEMM's K, the
/// row of RMSNorm or softmax, the vocabulary of cross-entropy, the keys and head size of attention) gets 1e-4,
/// because the fast float version adds in another order, in blocks and lanes, than the double reference, and the
/// rounding error grows with the length of the sum. Rounding to bf16 has one right answer: it must match exactly.
/// </summary>
internal static class Tolerances
{
    public const double Elementwise = 1e-5;
    public const double Reduction = 1e-4;
    public const double Exact = 0;

    /// <summary>Sums up to this many terms are held to the elementwise tolerance.</summary>
    public const int ShortSum = 16;

    /// <summary>The tolerance of an output whose elements each sum <paramref name="terms"/> products.</summary>
    public static double ForSum(int terms) => terms > ShortSum ? Reduction : Elementwise;
}

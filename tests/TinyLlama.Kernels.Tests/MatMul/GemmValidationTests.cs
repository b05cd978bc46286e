namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>Bad shapes, strides and buffers are refused with a message that names Gemm.Multiply and what was expected.</summary>
public class GemmValidationTests
{
    private static readonly float[] Four = new float[4];

    private static void AssertRefused(Action call, params string[] fragments)
    {
        var error = Assert.Throws<ArgumentException>(call);
        Assert.Contains("Gemm.Multiply", error.Message);
        foreach (string fragment in fragments) Assert.Contains(fragment, error.Message);
    }

    [Fact]
    public void NegativeDimension()
        => AssertRefused(() => Gemm.Multiply(false, false, 2, -1, 2, 1f, Four, 2, Four, 2, 0f, new float[4], 2), "(2, -1, 2)", "≥ 0");

    [Fact]
    public void LeadingDimensionTooSmall()
    {
        AssertRefused(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, new float[6], 2, new float[6], 2, 0f, new float[4], 2), "lda = 2", "lda ≥ 3");
        AssertRefused(() => Gemm.Multiply(false, true, 2, 2, 3, 1f, new float[6], 3, new float[6], 2, 0f, new float[4], 2), "ldb = 2", "ldb ≥ 3");
        AssertRefused(() => Gemm.Multiply(false, false, 2, 2, 2, 1f, Four, 2, Four, 2, 0f, new float[4], 1), "ldc = 1", "ldc ≥ 2");
    }

    [Fact]
    public void SpanTooShort()
    {
        AssertRefused(() => Gemm.Multiply(false, false, 2, 2, 2, 1f, new float[3], 2, Four, 2, 0f, new float[4], 2), "A has 3 elements", "at least 4");
        AssertRefused(() => Gemm.Multiply(true, false, 3, 2, 2, 1f, new float[5], 3, Four, 2, 0f, new float[6], 2), "A has 5", "at least 6");
        AssertRefused(() => Gemm.Multiply(false, false, 2, 2, 2, 1f, Four, 2, Four, 2, 0f, new float[4], 3), "C has 4", "at least 5", "(2, 2, 2)");
        AssertRefused(() => Gemm.Multiply(false, false, 2, 2, 2, 1.0, new double[4], 2, new double[3], 2, 0.0, new double[4], 2), "B has 3");
    }

    [Fact]
    public void BatchedStridesChecked()
    {
        AssertRefused(() => Gemm.MultiplyBatched(false, false, 2, 2, 2, 1f, Four, 2, 0, Four, 2, 0, 0f, new float[8], 2, 0, 2), "strideC = 0");
        AssertRefused(() => Gemm.MultiplyBatched(false, false, 2, 2, 2, 1f, Four, 2, -4, Four, 2, 0, 0f, new float[8], 2, 4, 2), "≥ 0");
        // The second A would start at element 4 of a 6-element span.
        AssertRefused(() => Gemm.MultiplyBatched(false, false, 2, 2, 2, 1f, new float[6], 2, 4, Four, 2, 0, 0f, new float[8], 2, 4, 2), "A has 2");
        AssertRefused(() => Gemm.MultiplyBatched(false, false, 2, 2, 2, 1f, Four, 2, 0, Four, 2, 0, 0f, new float[8], 2, 4, -1), "batch = -1");
    }

    [Fact]
    public void ReferenceValidatesToo()
        => AssertRefused(() => Gemm.MultiplyReference(false, false, 2, 2, 2, 1f, new float[3], 2, Four, 2, 0f, new float[4], 2), "A has 3");
}

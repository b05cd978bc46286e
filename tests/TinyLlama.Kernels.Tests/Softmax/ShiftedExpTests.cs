namespace TinyLlama.Kernels.Tests;

public class ShiftedExpTests
{
    [Fact]
    public void FloatPath_IsWithinAFewUlpOfExp_AndTheSumIsRight()
    {
        // Arguments from −100 to just above 0 (a shift that rounded low), densely, with a tail that is not a multiple of 16.
        const int n = 200_003;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -100f + 100.01f * i / (n - 1);
        var e = new float[n];
        double sum = ShiftedExp.Apply<float>(x, 0.5f, e);
        double expectedSum = 0;
        for (int i = 0; i < n; i++)
        {
            double expected = Math.Exp((double)(x[i] - 0.5f));
            expectedSum += expected;
            // Below the smallest normal float the result may be 0; above it, a few ulp.
            double err = expected < 1.2e-38 ? Math.Abs(e[i] - expected) : Math.Abs(e[i] - expected) / expected;
            if (!(err <= (expected < 1.2e-38 ? 1.2e-38 : 5e-7))) Assert.Fail($"exp({x[i]} − 0.5): {e[i]}, expected {expected}");
        }
        AssertClose.Scalar(expectedSum, sum, 1e-6, "Σ exp");
    }

    [Fact]
    public void NaN_StaysNaN()
    {
        var x = new float[] { 0, -1, float.NaN, -2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, float.NaN };
        var e = new float[x.Length];
        ShiftedExp.Apply<float>(x, 0f, e);
        Assert.True(float.IsNaN(e[2]) && float.IsNaN(e[16]));
        Assert.Equal(1f, e[0]);
    }
}

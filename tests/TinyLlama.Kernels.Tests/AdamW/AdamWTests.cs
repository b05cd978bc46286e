using TinyLlama.Kernels;

namespace TinyLlama.Kernels.Tests.AdamW;

public class AdamWTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(33, 10)]
    [InlineData(70001, 4)]
    public void FusedStep_MatchesReference_OverSeveralSteps(int n, int steps)
    {
        var rng = new Random(n);
        float[] p1 = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] p2 = (float[])p1.Clone();
        float[] m1 = new float[n], v1 = new float[n], m2 = new float[n], v2 = new float[n];
        for (int t = 1; t <= steps; t++)
        {
            float[] g = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            Kernels.AdamW.Step(p1, g, m1, v1, 4e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
            Kernels.AdamW.StepReference(p2, g, m2, v2, 4e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        }
        for (int i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(p1[i] - p2[i]) <= 1e-6f * Math.Max(1, Math.Abs(p2[i])), $"param {i}: {p1[i]} vs {p2[i]}");
            // The moments are sums of terms of size |g| ≤ 1, so their rounding error is absolute, about 1e-7.
            Assert.True(Math.Abs(m1[i] - m2[i]) <= 1e-6f, $"m {i}: {m1[i]} vs {m2[i]}");
            Assert.True(Math.Abs(v1[i] - v2[i]) <= 1e-6f, $"v {i}: {v1[i]} vs {v2[i]}");
        }
    }

    [Fact]
    public void FirstStep_MovesEachParameterByAboutLr()
    {
        // With m̂ = g and v̂ = g² on step 1, the Adam update is lr·sign(g) (plus the decay term).
        float[] p = [1f, -1f, 0.5f], g = [0.3f, -2f, 1e-3f], m = new float[3], v = new float[3];
        Kernels.AdamW.Step(p, g, m, v, 0.01f, 0.9f, 0.95f, 1e-8f, 0f, 1);
        Assert.Equal(1f - 0.01f, p[0], 5);
        Assert.Equal(-1f + 0.01f, p[1], 5);
        Assert.Equal(0.5f - 0.01f, p[2], 4);
    }

    [Fact]
    public void BadArguments_AreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => Kernels.AdamW.Step(new float[3], new float[2], new float[3], new float[3], 1, 0.9f, 0.95f, 1e-8f, 0, 1));
        Assert.Contains("AdamW.Step", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.AdamW.Step(new float[3], new float[3], new float[3], new float[3], 1, 0.9f, 0.95f, 1e-8f, 0, 0));
    }
}

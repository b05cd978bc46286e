namespace TinyLlama.Kernels.Tests;

public class GradNormTests
{
    static List<float[]> Grads() => [RandomData.Array<float>(1001, 1), RandomData.Array<float>(37, 2, 3), RandomData.Array<float>(5, 3)];

    [Theory]
    [InlineData(0.5)]   // clips
    [InlineData(1e6)]   // leaves the gradients alone
    [InlineData(0)]     // maxNorm ≤ 0 disables clipping
    public void CpuClipMatchesTheReference(double maxNorm)
    {
        var expected = Grads();
        double expectedNorm = GradNorm.ClipReference(expected, maxNorm);
        var actual = Grads();
        double norm = GradNorm.Clip(actual.Select(g => new Memory<float>(g)).ToList(), maxNorm);
        AssertClose.Scalar(expectedNorm, norm, AssertClose.Reduction<float>(), "norm");
        for (int b = 0; b < actual.Count; b++)
            AssertClose.All<float>(expected[b], actual[b], AssertClose.Reduction<float>(), $"buffer {b}");
    }

    [Fact]
    public void TheClipScaleFollowsTheOptimizer()
    {
        Assert.Equal(1f, GradNorm.ClipScale(2.0, 3.0));
        Assert.Equal(1f, GradNorm.ClipScale(3.0, 3.0));
        Assert.Equal(1f, GradNorm.ClipScale(30.0, 0.0));
        Assert.Equal((float)(3.0 / (6.0 + 1e-6)), GradNorm.ClipScale(6.0, 3.0));
    }
}

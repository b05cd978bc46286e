using TinyLlama.Model.Generation;

namespace TinyLlama.Model.Tests.Llama;

public class SamplerTests
{
    private static readonly float[] Logits = [1.0f, 3.0f, 2.0f, -1.0f];

    [Fact]
    public void TemperatureZero_IsArgMax() =>
        Assert.Equal(1, new Sampler(new SamplingOptions { Temperature = 0 }).Sample(Logits));

    [Fact]
    public void TopK1_AndTinyTopP_AreGreedy()
    {
        var k1 = new Sampler(new SamplingOptions { Temperature = 1, TopK = 1, Seed = 3 });
        var p = new Sampler(new SamplingOptions { Temperature = 1, TopP = 0.01, Seed = 3 });
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(1, k1.Sample(Logits));
            Assert.Equal(1, p.Sample(Logits));
        }
    }

    [Fact]
    public void SameSeed_SameSequence()
    {
        var a = new Sampler(new SamplingOptions { Temperature = 1, Seed = 11 });
        var b = new Sampler(new SamplingOptions { Temperature = 1, Seed = 11 });
        Assert.Equal(Enumerable.Range(0, 40).Select(_ => a.Sample(Logits)), Enumerable.Range(0, 40).Select(_ => b.Sample(Logits)));
    }

    [Fact]
    public void Frequencies_FollowTheSoftmax_AndTopKExcludesTheRest()
    {
        var sampler = new Sampler(new SamplingOptions { Temperature = 1, TopK = 3, Seed = 5 });
        var counts = new int[4];
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[sampler.Sample(Logits)]++;
        double z = Math.Exp(1) + Math.Exp(3) + Math.Exp(2);
        Assert.Equal(0, counts[3]);
        Assert.InRange(counts[1] / (double)n, Math.Exp(3) / z - 0.015, Math.Exp(3) / z + 0.015);
        Assert.InRange(counts[0] / (double)n, Math.Exp(1) / z - 0.015, Math.Exp(1) / z + 0.015);
    }

    [Fact]
    public void BadOptions_AreNamed()
    {
        Assert.Contains("top-p", Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { TopP = 0 })).Message);
        Assert.Contains("temperature", Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { Temperature = -1 })).Message);
    }
}

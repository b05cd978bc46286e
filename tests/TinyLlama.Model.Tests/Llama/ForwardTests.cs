using TinyLlama.Model;
using TinyLlama.Model.Generation;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Tests.Llama;

public class ForwardTests
{
    private static Tensor RandomIds(Random rng, int b, int t, int vocab)
    {
        var ids = new int[b * t];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(vocab);
        return Tensor.FromArray(ids, b, t);
    }

    [Fact]
    public void CachedForward_MatchesFullForward()
    {
        var config = LlamaPresets.Nano;
        using var model = new LlamaForCausalLM(config, seed: 3);
        using var scope = new TensorScope();
        var ids = RandomIds(new Random(1), 2, 9, config.VocabSize);
        double[] full;
        using (GradMode.NoGrad()) full = model.Forward(ids).ToDoubleArray();

        using var cache = new KvCache(config, batch: 2);
        var prefill = model.ForwardCached(ids.Narrow(1, 0, 5).Contiguous(), cache, 0, lastOnly: false); // positions 0..4
        var cached = new List<double[]> { prefill.ToDoubleArray() };
        for (int p = 5; p < 9; p++)
            cached.Add(model.ForwardCached(ids.Narrow(1, p, 1).Contiguous(), cache, p, lastOnly: false).ToDoubleArray());

        int v = config.VocabSize;
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 9; t++)
            {
                var chunk = t < 5 ? cached[0] : cached[t - 4];
                int tt = t < 5 ? t : 0, tlen = t < 5 ? 5 : 1;
                for (int j = 0; j < v; j++)
                {
                    double expected = full[(b * 9 + t) * v + j], actual = chunk[(b * tlen + tt) * v + j];
                    Assert.True(Math.Abs(expected - actual) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"b={b} t={t} j={j}: {expected} vs {actual}");
                }
            }
    }

    [Fact]
    public void Training_ReducesLossOnAFixedBatch()
    {
        var config = LlamaPresets.Nano;
        using var model = new LlamaForCausalLM(config, seed: 5);
        var rng = new Random(2);
        using var ids = RandomIds(rng, 2, 16, config.VocabSize);
        using var targets = RandomIds(rng, 2, 16, config.VocabSize);
        double first = 0, last = 0;
        for (int step = 0; step < 8; step++)
        {
            using var scope = new TensorScope();
            model.ZeroGrad();
            var loss = model.Loss(ids, targets);
            loss.Backward();
            if (step == 0) first = loss.Item();
            last = loss.Item();
            using (GradMode.NoGrad())
                foreach (var p in model.Parameters()) p.AddInPlace(p.Grad! * -0.5);
        }
        Assert.True(first > 5.5 && first < 7.0, $"initial loss {first} should be near ln(512) = 6.24");
        Assert.True(last < first - 0.5, $"loss went from {first} to {last}");
    }

    [Fact]
    public void TooLongSequence_IsRefusedWithTheContextLength()
    {
        using var model = new LlamaForCausalLM(LlamaPresets.Nano);
        using var ids = Tensor.Zeros([1, 129], DType.I32);
        var e = Assert.Throws<ArgumentException>(() => model.Forward(ids));
        Assert.Contains("128", e.Message);
    }
}

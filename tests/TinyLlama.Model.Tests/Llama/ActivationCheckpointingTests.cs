using TinyLlama.Model;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Tests.Llama;

public class ActivationCheckpointingTests
{
    private static Tensor RandomIds(Random rng, int b, int t, int vocab)
    {
        var ids = new int[b * t];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(vocab);
        return Tensor.FromArray(ids, b, t);
    }

    /// <summary>One training step's loss and every parameter's gradient, by name.</summary>
    private static (double Loss, Dictionary<string, double[]> Grads) Step(LlamaForCausalLM model, Tensor ids, Tensor targets)
    {
        model.ZeroGrad();
        double loss;
        using (var scope = new TensorScope())
        {
            var l = model.Loss(ids, targets);
            l.Backward();
            loss = l.Item();
        }
        return (loss, model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad!.ToDoubleArray()));
    }

    [Fact]
    public void LossAndEveryGradient_AreTheSame_WithAndWithoutCheckpointing()
    {
        var config = LlamaPresets.Nano;
        using var model = new LlamaForCausalLM(config, seed: 7);
        var rng = new Random(4);
        using var ids = RandomIds(rng, 2, 12, config.VocabSize);
        using var targets = RandomIds(rng, 2, 12, config.VocabSize);

        Assert.False(model.ActivationCheckpointing);
        var plain = Step(model, ids, targets);
        model.ActivationCheckpointing = true;
        var checkpointed = Step(model, ids, targets);

        Assert.Equal(plain.Loss, checkpointed.Loss);
        Assert.Equal(plain.Grads.Keys.Order(), checkpointed.Grads.Keys.Order());
        foreach (var (name, expected) in plain.Grads)
        {
            var actual = checkpointed.Grads[name];
            double scale = Math.Max(1e-12, expected.Max(Math.Abs));
            double maxError = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(maxError <= 1e-6 * scale, $"{name}: max |difference| {maxError:E3}, largest gradient {scale:E3}");
        }
    }

    [Fact]
    public void TheLayersAreRecordedAsCheckpoints_AndEachParametersHookFiresOnce()
    {
        var config = LlamaPresets.Nano;
        using var model = new LlamaForCausalLM(config, seed: 1) { ActivationCheckpointing = true };
        var rng = new Random(9);
        using var ids = RandomIds(rng, 1, 8, config.VocabSize);
        using var targets = RandomIds(rng, 1, 8, config.VocabSize);
        var calls = new Dictionary<string, int>();
        var hooks = model.NamedParameters()
            .Select(p => p.Parameter.RegisterPostAccumulateGradHook(_ => calls[p.Name] = calls.GetValueOrDefault(p.Name) + 1))
            .ToList();
        try
        {
            using var scope = new TensorScope();
            var loss = model.Loss(ids, targets);
            loss.Backward();
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
        }
        Assert.Equal(model.NamedParameters().Select(p => p.Name).Order(), calls.Keys.Order());
        Assert.All(calls, c => Assert.True(c.Value == 1, $"{c.Key}: hook ran {c.Value} times"));
    }

    [Fact]
    public void OnlyTrainingForwards_AreCheckpointed_AndTheyComputeTheSameLogits()
    {
        var config = LlamaPresets.Nano;
        using var model = new LlamaForCausalLM(config, seed: 2);
        using var ids = RandomIds(new Random(3), 1, 5, config.VocabSize);
        using var scope = new TensorScope();

        // The final norm's input is the last layer's output.
        string LastLayerStep() => model.Model.Forward(ids, model.Rope).GradFn!.Inputs[0].GradFn!.Name;
        Assert.Equal("add", LastLayerStep());
        var plain = model.Forward(ids).ToDoubleArray();
        model.ActivationCheckpointing = true;
        Assert.Equal("checkpoint", LastLayerStep());
        Assert.Equal(plain, model.Forward(ids).ToDoubleArray());

        using (GradMode.NoGrad())
        {
            var logits = model.Forward(ids);
            Assert.False(logits.RequiresGrad);
            Assert.Equal(plain, logits.ToDoubleArray());
        }
    }
}

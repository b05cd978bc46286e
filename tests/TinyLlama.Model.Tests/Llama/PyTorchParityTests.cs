using TinyLlama.Model;
using TinyLlama.Model.Checkpoints;
using TinyLlama.Model.Generation;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Tests.Llama;

/// <summary>
/// The model against PyTorch: tools/reference/llama_reference.py wrote a tiny random Llama as an HF folder plus the
/// logits, loss, every parameter's gradient and a greedy continuation it computed (in f64, rounded to f32).
/// Errors are per tensor: max|ours − expected| / max|expected|.
/// </summary>
public sealed class PyTorchParityTests : IDisposable
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tiny-random-llama");

    private readonly LlamaForCausalLM _model = HfCheckpoint.Load(Folder);
    private readonly SafetensorsFile _expected = SafetensorsFile.Open(Path.Combine(Folder, "expected.safetensors"));

    public void Dispose()
    {
        _model.Dispose();
        _expected.Dispose();
    }

    private static double RelativeError(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
        var a = actual.ToDoubleArray();
        var e = expected.ToDoubleArray();
        double maxDiff = 0, maxRef = 1e-30;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.False(double.IsNaN(a[i]), $"element {i} is NaN");
            maxDiff = Math.Max(maxDiff, Math.Abs(a[i] - e[i]));
            maxRef = Math.Max(maxRef, Math.Abs(e[i]));
        }
        return maxDiff / maxRef;
    }

    [Fact]
    public void Config_IsReadFromTheFolder()
    {
        var c = _model.Config;
        Assert.Equal((67, 48, 80, 2, 6, 2), (c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKvHeads));
    }

    [Fact]
    public void LogitsAndLoss_Match()
    {
        using var scope = new TensorScope();
        var ids = _expected.Read("input_ids");
        var targets = _expected.Read("targets");
        var logits = _model.Forward(ids);
        double logitError = RelativeError(logits, _expected.Read("logits"));
        Assert.True(logitError <= 1e-5, $"logits relative error {logitError:E2}");
        var loss = Functional.CrossEntropy(logits, targets);
        double lossError = RelativeError(loss, _expected.Read("loss"));
        Assert.True(lossError <= 1e-5, $"loss relative error {lossError:E2}");
    }

    [Fact]
    public void GradientsOfEveryParameter_Match()
    {
        using var scope = new TensorScope();
        _model.ZeroGrad();
        _model.Loss(_expected.Read("input_ids"), _expected.Read("targets")).Backward();
        foreach (var (name, p) in _model.NamedParameters())
        {
            double error = RelativeError(p.Grad!, _expected.Read("grad." + name));
            Assert.True(error <= 1e-4, $"gradient of {name}: relative error {error:E2}");
        }
    }

    [Fact]
    public void GreedyGeneration_IsIdentical()
    {
        var prompt = _expected.Read("prompt_ids").ToArray<int>();
        var expected = _expected.Read("greedy_ids").ToArray<int>();
        var generator = new Generator(_model);
        var tokens = generator.Generate(prompt, expected.Length - prompt.Length, new SamplingOptions { Temperature = 0 }, stopAtEos: false).ToArray();
        Assert.Equal(expected[prompt.Length..], tokens);
    }

    [Fact]
    public void SaveThenLoad_GivesTheSameModel()
    {
        string dir = Path.Combine(Path.GetTempPath(), "tl-roundtrip-" + Guid.NewGuid().ToString("N"));
        try
        {
            HfCheckpoint.Save(_model, dir);
            using var back = HfCheckpoint.Load(dir);
            Assert.Equal(_model.Config, back.Config);
            foreach (var ((n1, p1), (_, p2)) in _model.NamedParameters().Zip(back.NamedParameters()))
                Assert.True(p1.ToArray<float>().SequenceEqual(p2.ToArray<float>()), $"{n1} differs after save/load");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}

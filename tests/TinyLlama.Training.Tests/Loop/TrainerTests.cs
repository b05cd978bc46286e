using TinyLlama.Data.Packed;
using TinyLlama.Model;
using TinyLlama.Training;
using TinyLlama.Training.Optim;

namespace TinyLlama.Training.Tests.Loop;

public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tl-train-" + Guid.NewGuid().ToString("N"));
    private static readonly LlamaConfig Config = LlamaPresets.Nano with { MaxSeqLen = 32 };

    public TrainerTests()
    {
        // A learnable stream: tokens follow a fixed random walk pattern with some noise.
        var rng = new Random(7);
        var builder = new PackedDatasetBuilder(Path.Combine(_dir, "data"), "train", chunkSize: 33 * 16, vocabSize: Config.VocabSize);
        var tokens = new int[33 * 16 * 4];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = i % 7 == 0 ? rng.Next(Config.VocabSize) : (i * 37) % 97;
        builder.Add(tokens);
        builder.Finish();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TrainOptions Options => new()
    {
        BatchSize = 4, MicroBatchSize = 2, SeqLen = 32, MaxSteps = 8, Lr = 3e-3, MinLr = 3e-4, WarmupSteps = 2,
        CheckpointEvery = 3, KeepLast = 2, EvalEvery = 4, EvalBatches = 2, Seed = 11,
    };

    private (Trainer Trainer, LlamaForCausalLM Model, PackedDataset Data) Create(string runDir)
    {
        var data = PackedDataset.Open(Path.Combine(_dir, "data"));
        var loader = new PackedDataLoader(data, Options.SeqLen, Options.MicroBatchSize, (ulong)Options.Seed);
        var validation = new PackedDataLoader(data, Options.SeqLen, Options.MicroBatchSize, seed: 99);
        var model = new LlamaForCausalLM(Config, seed: Options.Seed);
        return (new Trainer(Options, model, loader, validation, Path.Combine(runDir, "checkpoints")), model, data);
    }

    [Fact]
    public void Loss_Falls_AndCheckpointsAreKeptToTheLastN()
    {
        var (trainer, model, data) = Create(Path.Combine(_dir, "run"));
        var losses = new List<double>();
        var validation = new List<double>();
        trainer.StepCompleted += r => losses.Add(r.Loss);
        trainer.Validated += (_, loss) => validation.Add(loss);
        trainer.Run();
        Assert.Equal(8, losses.Count);
        Assert.True(losses[^1] < losses[0] - 0.5, $"loss went from {losses[0]} to {losses[^1]}");
        Assert.Equal(2, validation.Count);
        Assert.True(validation[1] < validation[0], $"validation loss {validation[0]} → {validation[1]}");
        // Checkpoints at 3 and 6, then at the end (8); only the last two are kept.
        Assert.Equal([6, 8], trainer.Checkpoints.List().Select(c => c.Step).ToArray());
        trainer.Dispose(); model.Dispose(); data.Dispose();
    }

    [Fact]
    public void Resume_ContinuesWithIdenticalLosses()
    {
        var (full, m1, d1) = Create(Path.Combine(_dir, "full"));
        var expected = new List<double>();
        full.StepCompleted += r => expected.Add(r.Loss);
        full.Run();

        // Interrupted after step 5: the stop request finishes the step and writes a checkpoint.
        var (first, m2, d2) = Create(Path.Combine(_dir, "split"));
        using var stop = new CancellationTokenSource();
        first.StepCompleted += r => { if (r.Step == 5) stop.Cancel(); };
        first.Run(stop.Token);
        Assert.Equal(5, first.Checkpoints.Latest()!.Value.Step);

        var (second, m3, d3) = Create(Path.Combine(_dir, "split"));
        second.Resume(second.Checkpoints.Latest()!.Value.Path);
        var resumed = new List<double>();
        second.StepCompleted += r => resumed.Add(r.Loss);
        second.Run();
        Assert.Equal(expected.Skip(5), resumed);
        foreach (var ((name, a), (_, b)) in m1.NamedParameters().Zip(m3.NamedParameters()))
            Assert.True(a.ToArray<float>().SequenceEqual(b.ToArray<float>()), $"{name} differs after resume");
        foreach (var d in new IDisposable[] { full, m1, d1, first, m2, d2, second, m3, d3 }) d.Dispose();
    }

    [Fact]
    public void Resume_FromAnotherConfig_IsRefused()
    {
        var (trainer, model, data) = Create(Path.Combine(_dir, "a"));
        trainer.Run();
        var other = new LlamaForCausalLM(Config with { NumLayers = 3 });
        using var loader = new PackedDataLoaderHolder(data, Options);
        var t2 = new Trainer(Options, other, loader.Loader, null, Path.Combine(_dir, "b"));
        var e = Assert.ThrowsAny<Exception>(() => t2.Resume(trainer.Checkpoints.Latest()!.Value.Path));
        Assert.Contains("step-00000008", e.Message);
        foreach (var d in new IDisposable[] { trainer, model, data, other, t2 }) d.Dispose();
    }

    private sealed class PackedDataLoaderHolder(PackedDataset data, TrainOptions o) : IDisposable
    {
        public PackedDataLoader Loader { get; } = new(data, o.SeqLen, o.MicroBatchSize, (ulong)o.Seed);
        public void Dispose() { }
    }

    [Fact]
    public void Schedule_WarmsUpThenDecaysToTheMinimum()
    {
        var s = new LrSchedule(1.0, 0.1, 4, 20).Validate();
        Assert.Equal(0.25, s.At(0), 12);
        Assert.Equal(1.0, s.At(3), 12);
        Assert.Equal(1.0, s.At(4), 12);
        Assert.Equal(0.55, s.At(12), 12);
        Assert.Equal(0.1, s.At(20), 12);
        Assert.True(s.At(10) > s.At(11));
    }

    [Fact]
    public void TokenIdsBeyondTheModelsVocabulary_AreRefusedNamingTheBatch_NotReportedAsDivergence()
    {
        // Data packed with a 4096-token vocabulary, a model of 512: the first id ≥ 512 stops the step with the reason.
        string dir = Path.Combine(_dir, "wide");
        var builder = new PackedDatasetBuilder(dir, "train", chunkSize: 33 * 16, vocabSize: 4096);
        builder.Add(Enumerable.Range(0, 33 * 16 * 2).Select(i => i % 50 == 49 ? 4000 : i % 100).ToArray());
        builder.Finish();
        using var data = PackedDataset.Open(dir);
        var loader = new PackedDataLoader(data, Options.SeqLen, Options.MicroBatchSize, (ulong)Options.Seed);
        using var model = new LlamaForCausalLM(Config, seed: 1);
        using var trainer = new Trainer(Options, model, loader, null, Path.Combine(_dir, "wide-run", "checkpoints"));
        var e = Assert.Throws<InvalidDataException>(() => trainer.Run());
        Assert.Contains("step 1: the training batch holds token id 4000", e.Message);
        Assert.Contains("outside the model's vocabulary [0, 512)", e.Message);
    }

    [Fact]
    public void DivergingLoss_StopsNamingTheStep_AndLeavesTheLastCheckpointIntact()
    {
        var data = PackedDataset.Open(Path.Combine(_dir, "data"));
        var options = Options with { Lr = 1e6, MinLr = 1e5, WarmupSteps = 0, CheckpointEvery = 1, MaxSteps = 50 };
        var loader = new PackedDataLoader(data, options.SeqLen, options.MicroBatchSize, (ulong)options.Seed);
        using var model = new LlamaForCausalLM(Config, seed: 1);
        using var trainer = new Trainer(options, model, loader, null, Path.Combine(_dir, "nan", "checkpoints"));
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Contains($"step {e.Step}", e.Message);
        // Every checkpoint on disk is from a step before the one that diverged, and complete.
        var kept = trainer.Checkpoints.List();
        Assert.All(kept, c => Assert.True(c.Step < e.Step && File.Exists(Path.Combine(c.Path, "model.safetensors"))));
        data.Dispose();
    }
}

using TinyLlama.Data.Packed;
using TinyLlama.Distributed.DataParallel;
using TinyLlama.Model;
using TinyLlama.Training;

namespace TinyLlama.Distributed.Tests.DataParallel;

/// <summary>What one rank of a training run saw.</summary>
internal sealed record RankRun(int Rank, List<double> Losses, List<double> GradNorms, List<(int Step, double Loss)> Validation,
    List<string> Checkpoints, float[][] Parameters, int FinalStep, GradientBucketer? Bucketer);

/// <summary>
/// A small learnable token stream in packed files and a way to train the nano model on it as one rank of a
/// data-parallel job (or alone), as the trainer tests do, deleted afterwards.
/// </summary>
internal sealed class TrainingFixture : IDisposable
{
    public static readonly LlamaConfig Config = LlamaPresets.Nano with { MaxSeqLen = 32 };

    public TrainingFixture()
    {
        var rng = new Random(7);
        var builder = new PackedDatasetBuilder(DataDir, "train", chunkSize: 33 * 16, vocabSize: Config.VocabSize);
        var tokens = new int[33 * 16 * 6];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = i % 7 == 0 ? rng.Next(Config.VocabSize) : (i * 37) % 97;
        builder.Add(tokens);
        builder.Finish();
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "tl-ddp-" + Guid.NewGuid().ToString("N"));
    private string DataDir => Path.Combine(Root, "data");

    public string RunDir(string name) => Path.Combine(Root, name);

    /// <summary>Eight sequences of 32 tokens per step, whatever the split into ranks and micro-steps.</summary>
    public static TrainOptions Options(int microBatch) => new()
    {
        BatchSize = 8, MicroBatchSize = microBatch, SeqLen = 32, MaxSteps = 8, Lr = 3e-3, MinLr = 3e-4, WarmupSteps = 2,
        CheckpointEvery = 3, KeepLast = 5, EvalEvery = 4, EvalBatches = 2, Seed = 11,
    };

    /// <summary>
    /// Trains one rank (parallel null: alone). The validation micro-batch is 8 / world size, so every run evaluates
    /// the same 16 validation sequences. <paramref name="stopAfter"/> requests a stop on this rank after that step.
    /// </summary>
    public RankRun Train(DistributedDataParallel? parallel, TrainOptions options, string runDir, bool resume = false, int? stopAfter = null)
    {
        int rank = parallel?.Rank ?? 0, world = parallel?.WorldSize ?? 1;
        using var data = PackedDataset.Open(DataDir);
        var loader = new PackedDataLoader(data, options.SeqLen, options.MicroBatchSize, (ulong)options.Seed, rank, world);
        var validation = new PackedDataLoader(data, options.SeqLen, 8 / world, seed: 99, rank, world);
        // Each rank initialises with its own seed: the start-up broadcast must make them all rank 0's model.
        using var model = new LlamaForCausalLM(Config, seed: options.Seed + rank);
        using var trainer = new Trainer(options, model, loader, validation, Path.Combine(runDir, "checkpoints"), parallel);
        if (resume) trainer.Resume(trainer.Checkpoints.Latest()!.Value.Path);
        var run = new RankRun(rank, [], [], [], [], [], 0, null);
        using var stop = new CancellationTokenSource();
        trainer.StepCompleted += r =>
        {
            run.Losses.Add(r.Loss);
            run.GradNorms.Add(r.GradNorm);
            if (r.Step == stopAfter) stop.Cancel();
        };
        trainer.Validated += (step, loss) => run.Validation.Add((step, loss));
        trainer.CheckpointWritten += folder => run.Checkpoints.Add(Path.GetFileName(folder));
        trainer.Run(stop.Token);
        return run with
        {
            Parameters = model.Parameters().Select(p => p.ToArray<float>()).ToArray(),
            FinalStep = trainer.Step,
            Bucketer = parallel?.Bucketer,
        };
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}

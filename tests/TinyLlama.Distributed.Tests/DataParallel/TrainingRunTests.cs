using TinyLlama.Data.Packed;
using TinyLlama.Data.Tokenizer;
using TinyLlama.Distributed.DataParallel;
using TinyLlama.Distributed.Local;
using TinyLlama.Training;
using TinyLlama.Training.Metrics;
using TinyLlama.Training.Run;

namespace TinyLlama.Distributed.Tests.DataParallel;

/// <summary>A whole <c>train</c> run as two ranks sharing one output folder: who writes what.</summary>
public sealed class TrainingRunTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tl-ddp-run-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private (RunSettings, TrainOptions) Setup(string name)
    {
        string data = Path.Combine(_dir, "data");
        if (!Directory.Exists(data))
        {
            var rng = new Random(5);
            foreach (string prefix in new[] { "train_x", "validation_x" })
            {
                var builder = new PackedDatasetBuilder(data, prefix, chunkSize: 33 * 8, vocabSize: 512);
                builder.Add(Enumerable.Range(0, 33 * 8 * 3).Select(i => i % 5 == 0 ? rng.Next(3, 512) : 3 + i * 11 % 200).ToArray());
                builder.Finish();
            }
            var pieces = new List<string> { "<unk>", "<s>", "</s>" };
            pieces.AddRange(Enumerable.Range(0, 256).Select(x => $"<0x{x:X2}>"));
            pieces.AddRange(Enumerable.Range(0, 200).Select(i => $"▁t{i}"));
            LlamaTokenizer.FromVocabulary(pieces, []).Save(Path.Combine(_dir, "tokenizer.json"));
        }
        var settings = new RunSettings
        {
            Preset = "nano", Data = [data], Tokenizer = Path.Combine(_dir, "tokenizer.json"), Out = Path.Combine(_dir, name), Samples = 0,
        };
        var options = new TrainOptions
        {
            BatchSize = 4, MicroBatchSize = 2, SeqLen = 32, MaxSteps = 4, Lr = 3e-3, MinLr = 3e-4, WarmupSteps = 1,
            CheckpointEvery = 2, EvalEvery = 2, EvalBatches = 1, Seed = 5,
        };
        return (settings, options);
    }

    [Fact]
    public void TwoRanks_WriteOneRunFolder_FromRankZero_WithTheLossesOfOneProcess()
    {
        var (settings, options) = Setup("ddp");
        var logs = ThreadProcessGroup.Run(2, g =>
        {
            var (output, log) = (new StringWriter(), new StringWriter());
            int code = new TrainingRun(settings, options with { MicroBatchSize = 1 }, output, log, new DistributedDataParallel(g, 8 * 1024)).Execute(default);
            Assert.Equal(0, code);
            return log.ToString() + output;
        });
        Assert.Matches(@"data-parallel: 2 processes, 2 micro-step\(s\) of 1 sequences each per step; gradients averaged in \d\d+ buckets of", logs[0]);
        Assert.Equal("", logs[1]);
        foreach (string file in new[] { "run.json", "metrics.jsonl", "loss.svg", "hf/model.safetensors", "checkpoints/step-00000004/state.json" })
            Assert.True(File.Exists(Path.Combine(settings.Out, file)), $"{file} is missing");

        var (alone, aloneOptions) = Setup("alone");
        Assert.Equal(0, new TrainingRun(alone, aloneOptions, TextWriter.Null, TextWriter.Null).Execute(default));
        var ddp = MetricsLog.Read(Path.Combine(settings.Out, MetricsLog.DefaultFileName));
        var single = MetricsLog.Read(Path.Combine(alone.Out, MetricsLog.DefaultFileName));
        // One line per step (not one per rank), and the same losses as one process with the same global batch.
        Assert.Equal([1, 2, 3, 4], ddp.Train.Select(s => s.Step).ToArray());
        Assert.Equal([2, 4], ddp.Validation.Select(v => v.Step).ToArray());
        for (int s = 0; s < 4; s++)
            Assert.True(Math.Abs(single.Train[s].Loss - ddp.Train[s].Loss) <= 1e-5, $"step {s + 1}: {ddp.Train[s].Loss} vs {single.Train[s].Loss}");
        // Validation: each rank evaluates its half of the same global batches, and the halves are averaged.
        for (int v = 0; v < 2; v++)
            Assert.True(Math.Abs(single.Validation[v].Loss - ddp.Validation[v].Loss) <= 1e-5, $"validation {v}: {ddp.Validation[v].Loss} vs {single.Validation[v].Loss}");
    }

    [Fact]
    public void AFolderHoldingARun_IsRefusedByEveryRank_WithoutResume()
    {
        var (settings, options) = Setup("twice");
        ThreadProcessGroup.Run(2, g => new TrainingRun(settings, options with { MaxSteps = 1 }, TextWriter.Null, TextWriter.Null, new DistributedDataParallel(g)).Execute(default));
        var e = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(2, g =>
            new TrainingRun(settings, options, TextWriter.Null, TextWriter.Null, new DistributedDataParallel(g)).Execute(default)));
        Assert.Equal(2, e.InnerExceptions.Count);
        Assert.All(e.InnerExceptions, x => Assert.Contains("pass --resume", x.Message));
    }
}

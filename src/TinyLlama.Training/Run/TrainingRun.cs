using System.Globalization;
using TinyLlama.Data.Corpus;
using TinyLlama.Data.Packed;
using TinyLlama.Data.Tokenizer;
using TinyLlama.Data.TokenizerTraining;
using TinyLlama.Model;
using TinyLlama.Model.Generation;
using TinyLlama.Tensors;
using TinyLlama.Training.Metrics;
using TinyLlama.Training.Parallel;

namespace TinyLlama.Training.Run;

/// <summary>
/// A whole training run in an output folder: tokenizer, data, model, the trainer, its metrics log, loss plot and
/// checkpoints, and at the end a Hugging Face export and a few samples. Layout of OUT:
/// <code>
/// run.json            the settings and options (a second run into the same folder must match them, with --resume)
/// tokenizer.json      trained on the embedded corpus unless --tokenizer was given
/// data/               packed tokens of the embedded corpus (when no --data was given)
/// checkpoints/        step-NNNNNNNN/ (model, optimizer, state), the last N kept
/// metrics.jsonl       one line per step and per validation
/// loss.svg            training and validation loss
/// hf/                 the final model as a Hugging Face folder (config.json, model.safetensors, tokenizer.json)
/// </code>
/// With <paramref name="parallel"/> (one rank of a data-parallel job, every rank running this same command on a
/// folder they share): rank 0 prepares the tokenizer and the data while the others wait, then every rank opens them;
/// rank 0 alone writes run.json, checkpoints, metrics, the plot, the export and the samples, and every rank loads
/// the checkpoint on --resume. The other ranks print nothing but errors.
/// </summary>
public sealed class TrainingRun(RunSettings settings, TrainOptions options, TextWriter output, TextWriter log, IDataParallel? parallel = null)
{
    private readonly int _rank = parallel?.Rank ?? 0;
    private readonly TextWriter _log = (parallel?.Rank ?? 0) == 0 ? log : TextWriter.Null;

    public int Execute(CancellationToken stop)
    {
        var (device, activations) = RunDevice.Resolve(settings, parallel?.WorldSize ?? 1, parallel?.LocalRank ?? 0);
        string outDir = Path.GetFullPath(settings.Out);
        Directory.CreateDirectory(outDir);
        var checkpointDir = Path.Combine(outDir, "checkpoints");
        // Every rank checks before rank 0 writes anything, so a refused folder is refused by all (and left alone).
        RunGuard.Check(outDir, settings, new Checkpointing.CheckpointStore(checkpointDir, options.KeepLast).List().Count > 0);
        parallel?.Barrier();

        var tokenizer = RankZeroFirst(() => LoadOrTrainTokenizer(outDir));
        var config = ModelConfig(tokenizer);
        options.Validate(config.MaxSeqLen);
        var (trainSources, validationData) = RankZeroFirst(() => OpenData(outDir, tokenizer, options.SeqLen));
        using var disposeValidation = validationData;
        using var disposeTrain = new DisposeAll(trainSources);
        if (_rank == 0) RunGuard.Save(outDir, settings, options);

        using var model = settings.InitFrom is null ? new LlamaForCausalLM(config, options.Seed) : HfCheckpoint.Load(settings.InitFrom);
        _log.WriteLine($"model: {config} — {model.ParameterCount():N0} parameters");
        RunDevice.Place(model, device, activations, settings.ActivationCheckpointing, _log);
        _log.WriteLine($"data: {trainSources.Sum(d => d.TotalTokens):N0} training tokens in {trainSources.Sum(d => d.Files.Count)} files from {trainSources.Count} source(s)" +
                      (validationData is null ? "" : $", {validationData.TotalTokens:N0} validation tokens"));
        // Each rank reads its own slice of every global batch (validation too); see Trainer.
        int rank = _rank, worldSize = parallel?.WorldSize ?? 1;
        var loader = new PackedDataLoader(trainSources, settings.DataWeights, options.SeqLen, options.MicroBatchSize, (ulong)options.Seed, rank, worldSize);
        var validationLoader = validationData is null ? null : new PackedDataLoader(validationData, options.SeqLen, options.MicroBatchSize, seed: 1, rank, worldSize);
        using var trainer = new Trainer(options, model, loader, validationLoader, checkpointDir, parallel);
        if (worldSize > 1)
            _log.WriteLine($"data-parallel: {worldSize} processes, {trainer.Accumulation} micro-step(s) of {options.MicroBatchSize} sequences each per step; {trainer.GradientSync}");

        string metricsPath = Path.Combine(outDir, MetricsLog.DefaultFileName);
        if (settings.Resume && trainer.Checkpoints.Latest() is { } latest)
        {
            trainer.Resume(latest.Path);
            if (_rank == 0) MetricsLog.TruncateAfter(metricsPath, trainer.Step);
            _log.WriteLine($"resumed from {latest.Path} at step {trainer.Step}");
        }
        else if (_rank == 0 && File.Exists(metricsPath)) File.Delete(metricsPath);

        if (_rank != 0)
        {
            // The same steps, collectives and stop decision as rank 0; its outputs are rank 0's to write.
            trainer.Run(stop);
            return 0;
        }

        _log.WriteLine($"training: {trainer.TotalSteps} steps of {options.BatchSize} × {options.SeqLen} tokens, lr {options.Lr:G3} → {options.MinLr:G3}");
        using (var metrics = new MetricsLog(metricsPath, append: true))
        using (var progress = ProgressDisplay.ForConsole(trainer.TotalSteps, options.MaxTime))
        {
            trainer.StepCompleted += r =>
            {
                var m = new StepMetrics(r.Step, r.Loss, r.Lr, r.GradNorm, r.TokensPerSecond(trainer.TokensPerStep), r.ElapsedSeconds, r.Tokens);
                metrics.Append(m);
                progress.Update(m);
            };
            trainer.Validated += (step, loss) =>
            {
                var v = new ValidationMetrics(step, loss);
                metrics.Append(v);
                progress.Report(v);
                WritePlot(outDir, metricsPath);
            };
            trainer.CheckpointWritten += folder => WritePlot(outDir, metricsPath);
            trainer.Run(stop);
        }
        WritePlot(outDir, metricsPath);
        RunDevice.ReportMemory(device, _log);
        // The export and the samples (KV-cache generation) run on the CPU.
        model.To(Tensors.Device.Cpu);

        string hf = Path.Combine(outDir, "hf");
        HfCheckpoint.Save(model, hf, DType.F32, TokenizerPathIn(outDir));
        _log.WriteLine($"step {trainer.Step}: checkpoint in {trainer.Checkpoints.Latest()?.Path}; Hugging Face folder {hf}; loss plot {Path.Combine(outDir, LossPlot.DefaultFileName)}");
        if (trainer.Step < trainer.TotalSteps)
        {
            _log.WriteLine($"stopped at step {trainer.Step} of {trainer.TotalSteps}; run the same command with --resume to continue");
            return 0;
        }
        if (settings.Samples > 0) PrintSamples(model, tokenizer);
        return 0;
    }

    /// <summary>
    /// Rank 0 runs <paramref name="work"/> first (it may write files into the run folder), the others after it, when
    /// they find those files in place. Alone, it just runs.
    /// </summary>
    private T RankZeroFirst<T>(Func<T> work)
    {
        if (parallel is null) return work();
        T result = default!;
        if (_rank == 0) result = work();
        parallel.Barrier();
        if (_rank != 0) result = work();
        return result;
    }

    private LlamaTokenizer LoadOrTrainTokenizer(string outDir)
    {
        if (settings.Tokenizer is { } given) return LlamaTokenizer.Load(given);
        if (settings.InitFrom is { } init) return LlamaTokenizer.Load(init);
        string path = Path.Combine(outDir, "tokenizer.json");
        if (File.Exists(path)) return LlamaTokenizer.Load(path);
        int vocab = LlamaPresets.Get(settings.Preset).VocabSize;
        _log.WriteLine($"tokenizer: training a {vocab}-token BPE vocabulary on the embedded corpus ({EmbeddedCorpus.Describe().Split('\n')[0]})");
        BpeTrainer.Train(EmbeddedCorpus.Documents(CorpusSplit.Train), vocab).WriteTokenizerJson(path);
        return LlamaTokenizer.Load(path);
    }

    private string? TokenizerPathIn(string outDir)
    {
        string candidate = settings.Tokenizer ?? (settings.InitFrom is { } init ? Path.Combine(init, "tokenizer.json") : Path.Combine(outDir, "tokenizer.json"));
        return File.Exists(candidate) ? candidate : null;
    }

    private LlamaConfig ModelConfig(LlamaTokenizer tokenizer)
    {
        var config = settings.InitFrom is { } init ? HfConfigJson.Load(init) : LlamaPresets.Get(settings.Preset);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocabulary holds {config.VocabSize}; use a tokenizer of at most {config.VocabSize} tokens or another --preset");
        return config with { BosTokenId = tokenizer.BosId, EosTokenId = tokenizer.EosId };
    }

    private (IReadOnlyList<PackedDataset> Train, PackedDataset? Validation) OpenData(string outDir, LlamaTokenizer tokenizer, int seqLen)
    {
        if (settings.Data.Count == 0)
        {
            string dataDir = Path.Combine(outDir, "data");
            if (!Directory.Exists(dataDir) || Directory.GetFiles(dataDir, "*.bin").Length == 0)
                PrepareEmbeddedCorpus(dataDir, tokenizer, seqLen);
            return ([PackedDataset.Open(Path.Combine(dataDir, "train_*.bin"))], PackedDataset.Open(Path.Combine(dataDir, "validation_*.bin")));
        }
        if (settings.DataWeights is { } weights && weights.Count != settings.Data.Count)
            throw new ArgumentException($"--data-weights has {weights.Count} values for {settings.Data.Count} --data sources; expected one weight per source");
        // A folder from `prepare` holds train_* and validation_* files: train on the first, validate on the second.
        static bool Prepared(string path, string prefix) => Directory.Exists(path) && Directory.GetFiles(path, prefix + "_*.bin").Length > 0;
        var train = new List<PackedDataset>();
        try
        {
            foreach (string data in settings.Data)
                train.Add(PackedDataset.Open(Prepared(data, "train") ? Path.Combine(data, "train_*.bin") : data));
            string? validationPattern = settings.ValidationData
                ?? (Prepared(settings.Data[0], "validation") ? Path.Combine(settings.Data[0], "validation_*.bin") : null);
            return (train, validationPattern is null ? null : PackedDataset.Open(validationPattern));
        }
        catch
        {
            foreach (var d in train) d.Dispose();
            throw;
        }
    }

    private void PrepareEmbeddedCorpus(string dataDir, LlamaTokenizer tokenizer, int seqLen)
    {
        _log.WriteLine("data: tokenizing the embedded corpus into packed files");
        // The last file of each split is padded with EOS so no text is lost. Small files keep that padding small
        // (a padded validation set would look easier than it is): at most 4 blocks' worth in the validation split.
        foreach (var (split, prefix, blocks) in new[] { (CorpusSplit.Train, "train_corpus", 16), (CorpusSplit.Validation, "validation_corpus", 4) })
        {
            var builder = new PackedDatasetBuilder(dataDir, prefix, chunkSize: (seqLen + 1) * blocks, vocabSize: tokenizer.VocabSize);
            foreach (string document in EmbeddedCorpus.Documents(split))
                builder.AddDocument(tokenizer.Encode(document, addBos: false), tokenizer.EosId);
            builder.Finish(keepRemainder: true, padToken: tokenizer.EosId);
        }
    }

    private void WritePlot(string outDir, string metricsPath)
    {
        var history = MetricsLog.Read(metricsPath);
        LossPlot.WriteSvg(Path.Combine(outDir, LossPlot.DefaultFileName), history, $"{settings.Preset} — {Path.GetFileName(outDir)}");
    }

    private void PrintSamples(LlamaForCausalLM model, LlamaTokenizer tokenizer)
    {
        string[] prompts = ["It is a truth universally acknowledged", "Elizabeth looked at", "The next morning"];
        var generator = new Generator(model);
        for (int i = 0; i < Math.Min(settings.Samples, prompts.Length); i++)
        {
            var ids = tokenizer.Encode(prompts[i], addBos: true);
            var decoder = tokenizer.CreateStreamingDecoder();
            foreach (int id in ids) decoder.Append(id);
            var text = new System.Text.StringBuilder(prompts[i]);
            foreach (int id in generator.Generate(ids, 48, new SamplingOptions { Temperature = 0.8, TopP = 0.95, Seed = i }))
                text.Append(decoder.Append(id));
            text.Append(decoder.Flush());
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sample {i + 1}: {text.ToString().ReplaceLineEndings(" ")}"));
        }
    }

    private sealed class DisposeAll(IEnumerable<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items) item.Dispose();
        }
    }
}

using System.Diagnostics;
using TinyLlama.Data.Packed;
using TinyLlama.Model;
using TinyLlama.Tensors;
using TinyLlama.Training.Checkpointing;
using TinyLlama.Training.Optim;
using TinyLlama.Training.Parallel;

namespace TinyLlama.Training;

/// <summary>What one optimizer step did.</summary>
public sealed record StepReport(int Step, int TotalSteps, double Loss, double Lr, double GradNorm, long Tokens, double StepSeconds, double ElapsedSeconds)
{
    public double TokensPerSecond(long tokensPerStep) => StepSeconds > 0 ? tokensPerStep / StepSeconds : 0;
}

/// <summary>Thrown when the loss stops being a finite number; the last checkpoint on disk is left as it was.</summary>
public sealed class TrainingDivergedException(int step, double loss)
    : Exception($"step {step}: the loss is {loss}; stopping. The last checkpoint on disk is intact (lower --lr or check the data).")
{
    public int Step { get; } = step;
}

/// <summary>
/// The training loop: gradient accumulation to the global batch, global-norm clipping, AdamW on a warmup + cosine
/// schedule, periodic validation and atomic checkpoints. A stop request (Ctrl-C, SIGTERM, --max-time) finishes the
/// current step, then writes a checkpoint; resuming from it continues with exactly the losses an uninterrupted run
/// would have produced (the data sampler, the optimizer moments and the step counters are all in the checkpoint).
/// <para>Data-parallel: with an <see cref="IDataParallel"/> of N ranks each rank runs this loop on its shard of every
/// global batch (its loaders built with its rank and N), gradients are averaged during the last micro-step's backward,
/// and every rank takes the same optimizer step. The global batch stays <see cref="TrainOptions.BatchSize"/>
/// = micro-batch × accumulation × N. Rank 0 alone writes checkpoints; every rank can load them. The logged loss and
/// the validation loss are means over all ranks' samples, and a stop request on any rank stops all at the same step.</para>
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly LlamaForCausalLM _model;
    private readonly PackedDataLoader _train;
    private readonly PackedDataLoader? _validation;
    private readonly AdamWOptimizer _optimizer;
    private readonly CheckpointStore _checkpoints;
    private readonly LrSchedule _schedule;
    private readonly int[] _inputs, _targets;
    private readonly IDataParallel? _parallel;
    private readonly IGradientSync? _sync;
    private double _elapsedBefore;
    private bool _ranksAgreed;

    /// <param name="parallel">The data-parallel job this trainer is a rank of; null trains in this process alone.</param>
    public Trainer(TrainOptions options, LlamaForCausalLM model, PackedDataLoader train, PackedDataLoader? validation, string checkpointDir,
        IDataParallel? parallel = null)
    {
        Options = options.Validate(model.Config.MaxSeqLen);
        if (train.SeqLen != options.SeqLen || train.MicroBatchSize != options.MicroBatchSize)
            throw new ArgumentException($"trainer: the loader gives ({train.MicroBatchSize}, {train.SeqLen}) batches; the options ask for ({options.MicroBatchSize}, {options.SeqLen})");
        Rank = parallel?.Rank ?? 0;
        WorldSize = parallel?.WorldSize ?? 1;
        if (options.BatchSize % (options.MicroBatchSize * WorldSize) != 0)
            throw new ArgumentException($"--batch-size {options.BatchSize}: expected a multiple of --micro-batch-size {options.MicroBatchSize} × {WorldSize} processes");
        CheckShard(train, "training");
        if (validation is not null) CheckShard(validation, "validation");
        _model = model;
        _parallel = parallel;
        _train = train;
        _validation = validation;
        _optimizer = new AdamWOptimizer(model.NamedParameters(), new AdamWOptions
        {
            Beta1 = options.Beta1, Beta2 = options.Beta2, Eps = options.Eps, WeightDecay = options.WeightDecay,
        });
        _checkpoints = new CheckpointStore(checkpointDir, options.KeepLast);
        TotalSteps = options.TotalSteps(TokensPerStep);
        _schedule = new LrSchedule(options.Lr, options.MinLr, options.Warmup(TotalSteps), TotalSteps).Validate();
        _inputs = new int[options.MicroBatchSize * options.SeqLen];
        _targets = new int[options.MicroBatchSize * options.SeqLen];
        _sync = parallel?.CreateGradientSync(model.NamedParameters().ToList());
        _device = model.Device;
    }

    private readonly Device _device;

    /// <summary>This process's rank in a data-parallel job (0 alone).</summary>
    public int Rank { get; }

    /// <summary>Processes that train together (1 alone).</summary>
    public int WorldSize { get; }

    /// <summary>The gradient averaging of a data-parallel run (null alone); its ToString describes it for logs.</summary>
    public IGradientSync? GradientSync => _sync;

    /// <summary>Micro-steps per optimizer step on each rank.</summary>
    public int Accumulation => Options.BatchSize / (Options.MicroBatchSize * WorldSize);

    // Each rank must read its own slice of the global batch: a loader built for another rank or world size would
    // silently train on duplicated or missing samples.
    private void CheckShard(PackedDataLoader loader, string what)
    {
        if (loader.Sampler.Rank != Rank || loader.Sampler.WorldSize != WorldSize)
            throw new ArgumentException($"trainer: the {what} loader reads the shard of rank {loader.Sampler.Rank} of {loader.Sampler.WorldSize}; this is rank {Rank} of {WorldSize}");
    }

    public TrainOptions Options { get; }

    public int TotalSteps { get; }

    public long TokensPerStep => (long)Options.BatchSize * Options.SeqLen;

    /// <summary>Steps completed (the next step to run).</summary>
    public int Step { get; private set; }

    public long Tokens { get; private set; }

    public CheckpointStore Checkpoints => _checkpoints;

    /// <summary>Called after every step.</summary>
    public event Action<StepReport>? StepCompleted;

    /// <summary>Called after every validation, with the step and the loss.</summary>
    public event Action<int, double>? Validated;

    /// <summary>Called after every checkpoint, with its folder (on rank 0, the one that writes them).</summary>
    public event Action<string>? CheckpointWritten;

    /// <summary>Restores the model, optimizer, sampler and counters from a checkpoint folder.</summary>
    public void Resume(string checkpointFolder)
    {
        var state = CheckpointStore.Load(checkpointFolder, _model, _optimizer);
        string config = HfConfigJson.ToJson(_model.Config);
        if (state.ModelConfigJson != config)
            throw new InvalidDataException($"{checkpointFolder}: the checkpoint is of another model config; cannot resume it with {_model.Config}");
        var mismatch = DecisiveDifference(state.Options, Options);
        if (mismatch is not null)
            throw new InvalidDataException($"{checkpointFolder}: the checkpoint was trained with {mismatch}; resume with the same settings");
        _train.SetState(state.Sampler);
        (Step, Tokens, _elapsedBefore) = (state.Step, state.Tokens, state.ElapsedSeconds);
        _ranksAgreed = false; // the next Run checks that every rank resumed to the same step
    }

    /// <summary>
    /// Runs until the schedule ends, a token or time budget is reached, or <paramref name="stop"/> is signalled (on
    /// any rank: the ranks agree before every step, so all stop after the same one).
    /// </summary>
    public void Run(CancellationToken stop = default)
    {
        var clock = Stopwatch.StartNew();
        int accumulation = Accumulation;
        bool wroteLast = false;
        AgreeOnStart();
        while (Step < TotalSteps && !StopAgreed(stop.IsCancellationRequested || OverBudget(clock)))
        {
            var stepClock = Stopwatch.StartNew();
            double lr = _schedule.At(Step);
            double loss = 0;
            for (int micro = 0; micro < accumulation; micro++)
            {
                using var scope = new TensorScope();
                _train.NextBatch(_inputs, _targets);
                CheckTokenIds(_targets, "training"); // the inputs are the targets shifted by one, bar the first token
                CheckTokenIds(_inputs, "training");
                var ids = OnModelDevice(Tensor.FromArray(_inputs, Options.MicroBatchSize, Options.SeqLen));
                var targets = OnModelDevice(Tensor.FromArray(_targets, Options.MicroBatchSize, Options.SeqLen));
                var microLoss = _model.Loss(ids, targets);
                // The mean over the global batch: each micro-batch's mean weighs 1 / accumulation, and the ranks'
                // gradients are averaged (each rank holds the same number of samples).
                _sync?.BeginBackward(synchronize: micro == accumulation - 1);
                (microLoss * (1.0 / accumulation)).Backward();
                _sync?.FinishBackward();
                loss += microLoss.Item() / accumulation;
            }
            if (_parallel is not null) loss = _parallel.Average(loss);
            if (!double.IsFinite(loss)) throw new TrainingDivergedException(Step + 1, loss);
            double gradNorm = _optimizer.ClipGradNorm(Options.GradClip);
            if (!double.IsFinite(gradNorm)) throw new TrainingDivergedException(Step + 1, gradNorm);
            _optimizer.Step(lr);
            _optimizer.ZeroGrad();
            Step++;
            Tokens += TokensPerStep;
            wroteLast = false;
            StepCompleted?.Invoke(new StepReport(Step, TotalSteps, loss, lr, gradNorm, Tokens, stepClock.Elapsed.TotalSeconds, Elapsed(clock)));

            if (_validation is not null && (Step % Options.EvalEvery == 0 || Step == TotalSteps))
            {
                double validationLoss = ValidationLoss();
                Validated?.Invoke(Step, validationLoss);
            }
            if (Step % Options.CheckpointEvery == 0)
            {
                SaveCheckpoint(clock);
                wroteLast = true;
            }
        }
        // The end of the run or a stop request: make sure the last completed step is on disk.
        if (!wroteLast && Step > 0) SaveCheckpoint(clock);
    }

    /// <summary>
    /// Mean loss over the first EvalBatches batches of the validation data (the same batches every time). With N
    /// ranks each evaluates its shard of those global batches and the means are averaged: the loss of the same
    /// samples that one process with N× the micro-batch would evaluate. A collective: every rank calls it.
    /// </summary>
    public double ValidationLoss()
    {
        if (_validation is null) throw new InvalidOperationException("no validation data");
        var saved = _validation.GetState();
        _validation.Reset();
        var inputs = new int[_validation.MicroBatchSize * _validation.SeqLen];
        var targets = new int[inputs.Length];
        double total = 0;
        using (GradMode.NoGrad())
        {
            for (int i = 0; i < Options.EvalBatches; i++)
            {
                using var scope = new TensorScope();
                _validation.NextBatch(inputs, targets);
                CheckTokenIds(targets, "validation");
                CheckTokenIds(inputs, "validation");
                var ids = OnModelDevice(Tensor.FromArray(inputs, _validation.MicroBatchSize, _validation.SeqLen));
                var tgt = OnModelDevice(Tensor.FromArray(targets, _validation.MicroBatchSize, _validation.SeqLen));
                total += _model.Loss(ids, tgt).Item();
            }
        }
        _validation.SetState(saved);
        double loss = total / Options.EvalBatches;
        return _parallel is null ? loss : _parallel.Average(loss);
    }

    /// <summary>
    /// Before the first step of a data-parallel run: every rank must be at the same step (resumed from the same
    /// checkpoint), and every rank starts from rank 0's parameters (a fresh model or one loaded from a checkpoint).
    /// </summary>
    private void AgreeOnStart()
    {
        if (_parallel is null || _ranksAgreed) return;
        _parallel.EnsureSame(Step, "the step to start from (did every rank resume from the same checkpoint folder?)");
        _parallel.BroadcastParameters(_model.NamedParameters().ToList());
        _ranksAgreed = true;
    }

    /// <summary>
    /// Refuses token ids the model has no embedding for, naming the data: on a GPU the embedding and loss kernels cannot
    /// throw (a bad id gives a NaN row and the step would be reported as diverged), and on the CPU the error would name
    /// only the op. A pass over the batch on the host, before the upload, costs nothing next to the step.
    /// </summary>
    private void CheckTokenIds(int[] ids, string batch)
    {
        int vocab = _model.Config.VocabSize;
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)vocab)
                throw new InvalidDataException(
                    $"step {Step + 1}: the {batch} batch holds token id {ids[i]} (sequence {i / Options.SeqLen}, position {i % Options.SeqLen}), " +
                    $"outside the model's vocabulary [0, {vocab}): the data was packed with another tokenizer, or the model's vocab_size is too small");
    }

    /// <summary>Token ids where the model lives (one upload per micro-batch on a GPU; both stay in the step's scope).</summary>
    private Tensor OnModelDevice(Tensor hostIds) => _device.Kind == DeviceKind.Cpu ? hostIds : hostIds.To(_device);

    private bool StopAgreed(bool stopHere) => _parallel is null ? stopHere : _parallel.Any(stopHere);

    private void SaveCheckpoint(Stopwatch clock)
    {
        // Every rank holds the same parameters, moments and sampler state; one writer keeps the folder consistent.
        if (Rank != 0) return;
        var state = new TrainingState
        {
            Step = Step,
            Tokens = Tokens,
            ElapsedSeconds = Elapsed(clock),
            OptimizerSteps = _optimizer.StepCount,
            Sampler = _train.GetState(),
            ModelConfigJson = HfConfigJson.ToJson(_model.Config),
            Options = Options,
        };
        // Not folded into the ?.Invoke: with no subscriber its argument would never be evaluated.
        string folder = _checkpoints.Save(_model, _optimizer, state);
        CheckpointWritten?.Invoke(folder);
    }

    private double Elapsed(Stopwatch clock) => _elapsedBefore + clock.Elapsed.TotalSeconds;

    private bool OverBudget(Stopwatch clock) =>
        (Options.MaxTime is { } limit && clock.Elapsed >= limit)
        || (Options.MaxTokens is { } tokens && Tokens >= tokens);

    /// <summary>The first option that changes what a resumed run computes, or null.</summary>
    private static string? DecisiveDifference(TrainOptions saved, TrainOptions now)
    {
        if (saved.BatchSize != now.BatchSize) return $"--batch-size {saved.BatchSize} (now {now.BatchSize})";
        if (saved.SeqLen != now.SeqLen) return $"sequence length {saved.SeqLen} (now {now.SeqLen})";
        if (saved.Seed != now.Seed) return $"--seed {saved.Seed} (now {now.Seed})";
        if (saved.Lr != now.Lr || saved.MinLr != now.MinLr) return $"--lr {saved.Lr} / --min-lr {saved.MinLr} (now {now.Lr} / {now.MinLr})";
        if (saved.MaxSteps != now.MaxSteps || saved.MaxTokens != now.MaxTokens)
            return $"a schedule of --max-steps {saved.MaxSteps} / --max-tokens {saved.MaxTokens} (now {now.MaxSteps} / {now.MaxTokens})";
        if (saved.WarmupSteps != now.WarmupSteps) return $"--warmup-steps {saved.WarmupSteps} (now {now.WarmupSteps})";
        if (saved.WeightDecay != now.WeightDecay || saved.Beta1 != now.Beta1 || saved.Beta2 != now.Beta2 || saved.Eps != now.Eps || saved.GradClip != now.GradClip)
            return "other optimizer settings";
        return null;
    }

    public void Dispose()
    {
        _sync?.Dispose();
        _optimizer.Dispose();
    }
}

using System.Diagnostics;
using TinyLlama.Data.Packed;
using TinyLlama.Model;
using TinyLlama.Tensors;
using TinyLlama.Training.Checkpointing;
using TinyLlama.Training.Optim;

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
    private double _elapsedBefore;

    public Trainer(TrainOptions options, LlamaForCausalLM model, PackedDataLoader train, PackedDataLoader? validation, string checkpointDir)
    {
        Options = options.Validate(model.Config.MaxSeqLen);
        if (train.SeqLen != options.SeqLen || train.MicroBatchSize != options.MicroBatchSize)
            throw new ArgumentException($"trainer: the loader gives ({train.MicroBatchSize}, {train.SeqLen}) batches; the options ask for ({options.MicroBatchSize}, {options.SeqLen})");
        _model = model;
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

    /// <summary>Called after every checkpoint, with its folder.</summary>
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
    }

    /// <summary>Runs until the schedule ends, a token or time budget is reached, or <paramref name="stop"/> is signalled.</summary>
    public void Run(CancellationToken stop = default)
    {
        var clock = Stopwatch.StartNew();
        int accumulation = Options.BatchSize / Options.MicroBatchSize;
        bool wroteLast = false;
        while (Step < TotalSteps && !stop.IsCancellationRequested && !OverBudget(clock))
        {
            var stepClock = Stopwatch.StartNew();
            double lr = _schedule.At(Step);
            double loss = 0;
            for (int micro = 0; micro < accumulation; micro++)
            {
                using var scope = new TensorScope();
                _train.NextBatch(_inputs, _targets);
                var ids = Tensor.FromArray(_inputs, Options.MicroBatchSize, Options.SeqLen);
                var targets = Tensor.FromArray(_targets, Options.MicroBatchSize, Options.SeqLen);
                var microLoss = _model.Loss(ids, targets);
                // The mean over the global batch: each micro-batch's mean weighs 1 / accumulation.
                (microLoss * (1.0 / accumulation)).Backward();
                loss += microLoss.Item() / accumulation;
            }
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

    /// <summary>Mean loss over the first EvalBatches batches of the validation data (the same batches every time).</summary>
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
                var ids = Tensor.FromArray(inputs, _validation.MicroBatchSize, _validation.SeqLen);
                var tgt = Tensor.FromArray(targets, _validation.MicroBatchSize, _validation.SeqLen);
                total += _model.Loss(ids, tgt).Item();
            }
        }
        _validation.SetState(saved);
        return total / Options.EvalBatches;
    }

    private void SaveCheckpoint(Stopwatch clock)
    {
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

    public void Dispose() => _optimizer.Dispose();
}

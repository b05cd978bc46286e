namespace TinyLlama.Training;

/// <summary>
/// Everything that decides what a run computes. Defaults are TinyLlama's where they apply (AdamW 0.9/0.95,
/// eps 1e-8, weight decay 0.1, clip 1.0, peak 4e-4 decaying to 4e-5), scaled down for small runs.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>Sequences per optimizer step (the global batch); a multiple of <see cref="MicroBatchSize"/>.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Sequences per forward/backward; gradients of BatchSize / MicroBatchSize micro-batches accumulate.</summary>
    public int MicroBatchSize { get; init; } = 8;

    /// <summary>Tokens per sequence (≤ the model's context length).</summary>
    public int SeqLen { get; init; } = 256;

    public int? MaxSteps { get; init; }
    public long? MaxTokens { get; init; }
    public TimeSpan? MaxTime { get; init; }

    public double Lr { get; init; } = 4e-4;
    public double MinLr { get; init; } = 4e-5;

    /// <summary>Warmup steps; null means a tenth of the run, at most 2000 (TinyLlama's).</summary>
    public int? WarmupSteps { get; init; }

    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.1;
    public double GradClip { get; init; } = 1.0;

    /// <summary>Seed of the data order and of a freshly initialised model.</summary>
    public int Seed { get; init; } = 3407;

    public int CheckpointEvery { get; init; } = 100;
    public int KeepLast { get; init; } = 3;
    public int EvalEvery { get; init; } = 50;
    public int EvalBatches { get; init; } = 8;

    /// <summary>Steps of the cosine schedule: MaxSteps, or MaxTokens over tokens per step.</summary>
    public int TotalSteps(long tokensPerStep) =>
        MaxSteps ?? (MaxTokens is long t ? (int)Math.Max(1, t / tokensPerStep)
            : throw new ArgumentException("set --max-steps or --max-tokens: the learning-rate schedule needs a length (--max-time alone only stops the run early)"));

    public int Warmup(int totalSteps) => WarmupSteps ?? Math.Min(2000, Math.Max(1, totalSteps / 10));

    public TrainOptions Validate(int modelContext)
    {
        if (BatchSize <= 0 || MicroBatchSize <= 0 || BatchSize % MicroBatchSize != 0)
            throw new ArgumentException($"--batch-size {BatchSize} / --micro-batch-size {MicroBatchSize}: expected positive sizes with the batch a multiple of the micro-batch");
        if (SeqLen <= 0 || SeqLen > modelContext)
            throw new ArgumentException($"sequence length {SeqLen}: expected 1 … {modelContext} (the model's context length)");
        if (MaxSteps is <= 0) throw new ArgumentException($"--max-steps {MaxSteps}: expected > 0");
        if (MaxTokens is <= 0) throw new ArgumentException($"--max-tokens {MaxTokens}: expected > 0");
        if (MaxTime is { } time && time <= TimeSpan.Zero) throw new ArgumentException($"--max-time {time}: expected > 0");
        if (CheckpointEvery <= 0) throw new ArgumentException($"--checkpoint-every {CheckpointEvery}: expected > 0");
        if (KeepLast <= 0) throw new ArgumentException($"--keep-last {KeepLast}: expected > 0");
        if (EvalEvery <= 0 || EvalBatches <= 0) throw new ArgumentException($"--eval-every {EvalEvery} / --eval-batches {EvalBatches}: expected > 0");
        if (!(GradClip >= 0)) throw new ArgumentException($"--grad-clip {GradClip}: expected ≥ 0 (0 disables clipping)");
        return this;
    }
}

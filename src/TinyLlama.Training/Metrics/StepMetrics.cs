namespace TinyLlama.Training.Metrics;

/// <summary>What the trainer knows after one optimizer step; one line of <c>metrics.jsonl</c>.</summary>
/// <param name="Step">1-based optimizer step that has just completed.</param>
/// <param name="Loss">Training loss of this step (mean over its tokens, all micro-batches).</param>
/// <param name="LearningRate">Learning rate the step was taken with.</param>
/// <param name="GradNorm">Global L2 norm of the gradients, before clipping.</param>
/// <param name="TokensPerSecond">Training throughput of this step.</param>
/// <param name="ElapsedSeconds">Wall time since the run began, carried over across resumes.</param>
/// <param name="Tokens">Tokens trained on so far, this step included, carried over across resumes.</param>
public sealed record StepMetrics(
    int Step,
    double Loss,
    double LearningRate,
    double GradNorm,
    double TokensPerSecond,
    double ElapsedSeconds,
    long Tokens);

/// <summary>A validation pass run after <see cref="Step"/>.</summary>
public sealed record ValidationMetrics(int Step, double Loss)
{
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>The contents of a metrics log, in file order.</summary>
public sealed record MetricsHistory(IReadOnlyList<StepMetrics> Train, IReadOnlyList<ValidationMetrics> Validation)
{
    public static MetricsHistory Empty { get; } = new([], []);

    /// <summary>The last training step logged, or null; a resumed run continues its elapsed time and token count.</summary>
    public StepMetrics? LastTrain => Train.Count > 0 ? Train[^1] : null;
}

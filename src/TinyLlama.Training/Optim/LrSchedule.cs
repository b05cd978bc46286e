namespace TinyLlama.Training.Optim;

/// <summary>
/// Linear warmup to the peak, then cosine decay to the minimum at <see cref="TotalSteps"/>, then flat
/// (TinyLlama: peak 4e-4, 2000 warmup steps, minimum 4e-5). Step numbers are 0-based; warmup starts at
/// peak/warmup rather than 0 so the first step is not wasted.
/// </summary>
public sealed record LrSchedule(double PeakLr, double MinLr, int WarmupSteps, int TotalSteps)
{
    public LrSchedule Validate()
    {
        if (!(PeakLr > 0)) throw new ArgumentException($"--lr {PeakLr}: expected a positive learning rate");
        if (!(MinLr >= 0 && MinLr <= PeakLr)) throw new ArgumentException($"--min-lr {MinLr}: expected 0 ≤ min-lr ≤ lr ({PeakLr})");
        if (WarmupSteps < 0) throw new ArgumentException($"--warmup-steps {WarmupSteps}: expected ≥ 0");
        if (TotalSteps <= 0) throw new ArgumentException($"schedule length {TotalSteps} steps: expected > 0");
        return this;
    }

    public double At(int step)
    {
        // 1) linear warmup
        if (step < WarmupSteps) return PeakLr * (step + 1) / WarmupSteps;
        // 2) after the decay, the minimum
        if (step >= TotalSteps) return MinLr;
        // 3) in between, cosine from the peak down to the minimum
        double ratio = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return MinLr + 0.5 * (1 + Math.Cos(Math.PI * ratio)) * (PeakLr - MinLr);
    }
}

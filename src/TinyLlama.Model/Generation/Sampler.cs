namespace TinyLlama.Model.Generation;

/// <summary>How the next token is chosen. Temperature 0 is greedy (argmax); TopK 0 and TopP 1 disable those filters.</summary>
public sealed record SamplingOptions
{
    public double Temperature { get; init; } = 0.8;
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    public int Seed { get; init; }

    public SamplingOptions Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentException($"sampling: temperature = {Temperature}; expected a finite number ≥ 0 (0 is greedy)");
        if (TopK < 0) throw new ArgumentException($"sampling: top-k = {TopK}; expected ≥ 0 (0 disables it)");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"sampling: top-p = {TopP}; expected a number in (0, 1]");
        return this;
    }
}

/// <summary>
/// Picks a token from one row of logits: greedy, or softmax(logits / temperature) restricted to the top-k tokens
/// and then to the smallest set whose probability reaches top-p (nucleus), drawn from a seeded generator.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly Random _rng;

    public Sampler(SamplingOptions options)
    {
        _options = options.Validate();
        _rng = new Random(options.Seed);
    }

    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("sampling: empty logits");
        if (_options.Temperature == 0) return ArgMax(logits);

        // Candidates sorted by logit, descending (ties: lower id first, so results are reproducible).
        var order = new int[logits.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var values = logits.ToArray();
        Array.Sort(order, (a, b) => values[b].CompareTo(values[a]) is var c && c != 0 ? c : a.CompareTo(b));
        int keep = _options.TopK > 0 ? Math.Min(_options.TopK, order.Length) : order.Length;

        // Softmax over the kept candidates in double, max-subtracted.
        var probs = new double[keep];
        double max = values[order[0]], sum = 0;
        for (int i = 0; i < keep; i++) sum += probs[i] = Math.Exp((values[order[i]] - max) / _options.Temperature);
        for (int i = 0; i < keep; i++) probs[i] /= sum;

        if (_options.TopP < 1)
        {
            double cumulative = 0;
            int n = 0;
            while (n < keep && cumulative < _options.TopP) cumulative += probs[n++];
            keep = Math.Max(1, n);
            for (int i = 0; i < keep; i++) probs[i] /= cumulative;
        }

        double u = _rng.NextDouble(), acc = 0;
        for (int i = 0; i < keep; i++)
        {
            acc += probs[i];
            if (u < acc) return order[i];
        }
        return order[keep - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}

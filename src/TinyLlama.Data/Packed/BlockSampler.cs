namespace TinyLlama.Data.Packed;

/// <summary>A block chosen by the sampler: block <see cref="Block"/> of source <see cref="Source"/>.</summary>
public readonly record struct BlockRef(int Source, long Block, long Epoch);

/// <summary>
/// Decides which blocks each data-parallel rank trains on, from a seed and a few counters.
/// </summary>
/// <remarks>
/// One global order, computed identically on every rank, is cut into global batches of
/// <c>worldSize × microBatchSize</c> samples; rank r takes global samples r, r + W, r + 2W, … of each. So
/// ranks are disjoint and together cover everything. TinyLlama's first release (issue #67) let each rank
/// shuffle the file list with its own seed before striding it, so some files were read by several ranks
/// and others by none; here nothing that decides the order depends on the rank.
/// <para>Global sample g comes from the source picked by a seeded draw u(g) against the weights (the same
/// on every rank, and O(1) for any g). The k-th block taken from source s is element k mod n_s of a
/// <see cref="FeistelPermutation"/> keyed by (seed, s, epoch = k / n_s): a source reshuffles every time it is
/// exhausted. The state is the global sample count and the per-source draw counts; resuming sets them and
/// continues, with no replay.</para>
/// <para>Not thread-safe: one sampler per rank, driven by the training loop.</para>
/// </remarks>
public sealed class BlockSampler
{
    private const ulong MixingStream = 0x6D6978696E67; // "mixing": separates the source draw from the shuffles
    private readonly long[] _blocks;
    private readonly double[] _weights;
    private readonly double[] _cumulative; // normalised cumulative weights
    private readonly long[] _draws;
    private ulong _mixKey;

    public ulong Seed { get; private set; }
    public int Rank { get; }
    public int WorldSize { get; }
    public int MicroBatchSize { get; }
    public long Step { get; private set; }
    public long GlobalSample { get; private set; }
    public int SourceCount => _blocks.Length;

    /// <param name="sourceBlocks">Blocks in each source (all &gt; 0).</param>
    /// <param name="weights">Mixing weights, ≥ 0 with a positive sum; null means one source or equal weights.</param>
    public BlockSampler(IReadOnlyList<long> sourceBlocks, IReadOnlyList<double>? weights, ulong seed,
        int rank = 0, int worldSize = 1, int microBatchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(sourceBlocks);
        if (sourceBlocks.Count == 0)
            throw new ArgumentException("the sampler needs at least one source", nameof(sourceBlocks));
        for (int s = 0; s < sourceBlocks.Count; s++)
            if (sourceBlocks[s] <= 0)
                throw new ArgumentException($"source {s} has {sourceBlocks[s]} blocks; every source needs at least one", nameof(sourceBlocks));
        if (worldSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "world size must be positive");
        if (rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize})");
        if (microBatchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(microBatchSize), microBatchSize, "micro-batch size must be positive");
        _blocks = sourceBlocks.ToArray();
        _weights = CheckWeights(weights, _blocks.Length);
        _cumulative = Cumulative(_weights);
        _draws = new long[_blocks.Length];
        Rank = rank;
        WorldSize = worldSize;
        MicroBatchSize = microBatchSize;
        SetSeed(seed);
    }

    private void SetSeed(ulong seed)
    {
        Seed = seed;
        _mixKey = SplitMix64.Hash(seed, MixingStream);
    }

    private static double[] CheckWeights(IReadOnlyList<double>? weights, int sources)
    {
        if (weights is null)
            return Enumerable.Repeat(1.0, sources).ToArray();
        if (weights.Count != sources)
            throw new ArgumentException($"{weights.Count} weights for {sources} sources", nameof(weights));
        for (int s = 0; s < sources; s++)
            if (!double.IsFinite(weights[s]) || weights[s] < 0)
                throw new ArgumentException($"weight {weights[s]} of source {s} must be finite and ≥ 0", nameof(weights));
        if (weights.Sum() <= 0)
            throw new ArgumentException("the weights sum to zero; at least one must be positive", nameof(weights));
        return weights.ToArray();
    }

    private static double[] Cumulative(double[] weights)
    {
        double total = weights.Sum(), acc = 0;
        var cum = new double[weights.Length];
        for (int s = 0; s < weights.Length; s++)
            cum[s] = (acc += weights[s]) / total;
        return cum;
    }

    /// <summary>The source of global sample <paramref name="globalSample"/>: the same answer on every rank.</summary>
    public int SourceOf(long globalSample)
    {
        if (_blocks.Length == 1) return 0;
        double u = SplitMix64.ToUnit(SplitMix64.Hash(_mixKey, (ulong)globalSample));
        int last = 0;
        for (int s = 0; s < _cumulative.Length; s++)
        {
            if (_weights[s] == 0) continue;
            if (u < _cumulative[s]) return s;
            last = s;
        }
        return last; // u fell past the last boundary by rounding
    }

    /// <summary>The <paramref name="draw"/>-th block taken from <paramref name="source"/> since the start.</summary>
    public BlockRef BlockOf(int source, long draw)
    {
        long n = _blocks[source];
        long epoch = draw / n;
        var permutation = new FeistelPermutation(n, SplitMix64.Hash(Seed, (ulong)source, (ulong)epoch));
        return new BlockRef(source, permutation[draw % n], epoch);
    }

    /// <summary>Draws the next global batch; this rank's <see cref="MicroBatchSize"/> blocks go to <paramref name="dest"/>.</summary>
    public void NextBatch(Span<BlockRef> dest)
    {
        if (dest.Length != MicroBatchSize)
            throw new ArgumentException($"destination holds {dest.Length} blocks, the micro-batch is {MicroBatchSize}", nameof(dest));
        long global = (long)WorldSize * MicroBatchSize;
        // Every rank walks the whole global batch so the per-source counters stay equal everywhere.
        for (long j = 0; j < global; j++)
        {
            long g = GlobalSample + j;
            int s = SourceOf(g);
            long draw = _draws[s]++;
            if (j % WorldSize == Rank)
                dest[(int)(j / WorldSize)] = BlockOf(s, draw);
        }
        GlobalSample += global;
        Step++;
    }

    /// <summary>Back to the first batch (an evaluation pass that should see the same batches every time).</summary>
    public void Reset()
    {
        Step = 0;
        GlobalSample = 0;
        Array.Clear(_draws);
    }

    public SamplerState GetState() => new()
    {
        Seed = Seed,
        Step = Step,
        GlobalSample = GlobalSample,
        SourceDraws = (long[])_draws.Clone(),
        SourceBlocks = (long[])_blocks.Clone(),
        Weights = (double[])_weights.Clone(),
    };

    /// <summary>
    /// Continues from <paramref name="state"/> in O(1). The sources and weights must be those the state was
    /// taken with; rank, world size and micro-batch may differ (the global order does not depend on them).
    /// </summary>
    public void SetState(SamplerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Validate();
        if (!state.SourceBlocks.AsSpan().SequenceEqual(_blocks))
            throw new InvalidDataException(
                $"sampler state was taken on sources of [{string.Join(", ", state.SourceBlocks)}] blocks, " +
                $"these have [{string.Join(", ", _blocks)}]; resuming would not continue the same order");
        if (!state.Weights.AsSpan().SequenceEqual(_weights))
            throw new InvalidDataException(
                $"sampler state was taken with weights [{string.Join(", ", state.Weights)}], " +
                $"these are [{string.Join(", ", _weights)}]");
        SetSeed(state.Seed);
        Step = state.Step;
        GlobalSample = state.GlobalSample;
        state.SourceDraws.CopyTo(_draws, 0);
    }
}

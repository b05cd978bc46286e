namespace TinyLlama.Data.Packed;

/// <summary>
/// Training batches from packed datasets: blocks of <c>seqLen + 1</c> tokens chosen by a
/// <see cref="BlockSampler"/> (seeded shuffle, rank sharding, weighted mixing), split into
/// <c>inputs = block[0..T)</c> and <c>targets = block[1..T]</c> as TinyLlama's training step does.
/// </summary>
public sealed class PackedDataLoader
{
    private readonly PackedDataset[] _sources;
    private readonly BlockRef[] _refs;   // (B,) this rank's blocks of the current batch
    private readonly int[] _block;       // (T + 1,)

    public BlockSampler Sampler { get; }
    public int SeqLen { get; }
    public int BlockSize => SeqLen + 1;
    public int MicroBatchSize { get; }
    public IReadOnlyList<PackedDataset> Sources => _sources;

    /// <param name="sources">The datasets to mix; the loader reads them but does not own them.</param>
    /// <param name="weights">Mixing weights (≥ 0, positive sum); null for one source or equal weights.</param>
    public PackedDataLoader(IReadOnlyList<PackedDataset> sources, IReadOnlyList<double>? weights, int seqLen,
        int microBatchSize, ulong seed, int rank = 0, int worldSize = 1)
    {
        ArgumentNullException.ThrowIfNull(sources);
        if (sources.Count == 0)
            throw new ArgumentException("the loader needs at least one dataset", nameof(sources));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        _sources = sources.ToArray();
        SeqLen = seqLen;
        MicroBatchSize = microBatchSize;
        var blocks = new long[_sources.Length];
        for (int s = 0; s < _sources.Length; s++)
        {
            blocks[s] = _sources[s].BlockCount(BlockSize);
            if (blocks[s] == 0)
                throw new InvalidDataException(
                    $"dataset '{_sources[s].Source}' has no block of {BlockSize} tokens (seq_len {seqLen} + 1): its " +
                    $"{_sources[s].Files.Count} file(s) hold chunks of {_sources[s].ChunkSize} tokens. Use a shorter " +
                    "sequence or write the data with a larger chunk size.");
        }
        Sampler = new BlockSampler(blocks, weights, seed, rank, worldSize, microBatchSize);
        _refs = new BlockRef[microBatchSize];
        _block = new int[BlockSize];
    }

    /// <summary>Convenience for a single source.</summary>
    public PackedDataLoader(PackedDataset source, int seqLen, int microBatchSize, ulong seed, int rank = 0, int worldSize = 1)
        : this([source], null, seqLen, microBatchSize, seed, rank, worldSize) { }

    /// <summary>Fills (B, T) <paramref name="inputs"/> and (B, T) <paramref name="targets"/>, row-major.</summary>
    public void NextBatch(Span<int> inputs, Span<int> targets)
    {
        int n = MicroBatchSize * SeqLen;
        if (inputs.Length != n || targets.Length != n)
            throw new ArgumentException(
                $"inputs and targets must hold B×T = {MicroBatchSize}×{SeqLen} = {n} tokens, got {inputs.Length} and {targets.Length}");
        Sampler.NextBatch(_refs);
        for (int b = 0; b < MicroBatchSize; b++)
        {
            var r = _refs[b];
            _sources[r.Source].ReadBlock(r.Block, _block);
            _block.AsSpan(0, SeqLen).CopyTo(inputs.Slice(b * SeqLen, SeqLen));
            _block.AsSpan(1, SeqLen).CopyTo(targets.Slice(b * SeqLen, SeqLen));
        }
    }

    /// <summary>The blocks of the last batch (for logging and tests).</summary>
    public ReadOnlySpan<BlockRef> LastBlocks => _refs;

    /// <summary>Back to the first batch; a validation loader reset before each evaluation sees the same data.</summary>
    public void Reset() => Sampler.Reset();

    public SamplerState GetState() => Sampler.GetState();
    public void SetState(SamplerState state) => Sampler.SetState(state);
}

namespace TinyLlama.Data.Packed;

/// <summary>How <see cref="PackedPrepare"/> holds out validation data.</summary>
public enum ValidationSplit
{
    /// <summary>Whole documents, chosen by a seeded hash of their index: no text is in both splits.</summary>
    Document,
    /// <summary>The last fraction of every document (nanoGPT's split of a single text file).</summary>
    Tail,
}

/// <summary>Settings of <see cref="PackedPrepare.Run"/>.</summary>
public sealed record PrepareOptions
{
    /// <summary>Folder for <c>train_{Name}_*.bin</c> and <c>validation_{Name}_*.bin</c>.</summary>
    public required string OutputDirectory { get; init; }
    public string Name { get; init; } = "data";
    public required int VocabSize { get; init; }
    /// <summary>Appended after every document: the separator (TinyLlama's current <c>encode(eos=True)</c>).</summary>
    public required int EosId { get; init; }
    /// <summary>If set, put before every document too (TinyLlama's September 2023 data had BOS only).</summary>
    public int? BosId { get; init; }
    /// <summary>Tokens per file; TinyLlama uses 2049 × 1024 (1024 blocks of seq_len 2048 + 1).</summary>
    public int ChunkSize { get; init; } = 2049 * 1024;
    public double ValidationFraction { get; init; }
    public ValidationSplit SplitBy { get; init; } = ValidationSplit.Document;
    /// <summary>Pad the final partial chunk of each split with EOS instead of dropping it (small corpora).</summary>
    public bool KeepRemainder { get; init; }
    public int Workers { get; init; } = Environment.ProcessorCount;
    public ulong Seed { get; init; } = 3407;
}

/// <summary>What <see cref="PackedPrepare.Run"/> wrote.</summary>
public sealed record PrepareReport(
    long Documents,
    long TrainTokens, IReadOnlyList<string> TrainFiles,
    long ValidationTokens, IReadOnlyList<string> ValidationFiles,
    long DroppedTokens, long PaddedTokens);

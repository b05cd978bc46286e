namespace TinyLlama.Data.Corpus;

/// <summary>Which documents of a corpus to read.</summary>
public enum CorpusSplit
{
    All,
    Train,
    Validation,
}

/// <summary>
/// The deterministic train/validation split: document <c>i</c> (0-based, in file order) is held out for
/// validation when <c>i % Every == Every - 1</c>, i.e. every 20th chapter. Interleaving rather than "the
/// last 5%" keeps every novel in both halves, so validation loss measures the same kind of English the
/// model trains on, not one author's late style.
/// </summary>
public static class CorpusSplitRule
{
    public const int Every = 20;

    public static bool IsValidation(int index) => index % Every == Every - 1;

    public static bool Includes(CorpusSplit split, int index) => split switch
    {
        CorpusSplit.All => true,
        CorpusSplit.Train => !IsValidation(index),
        CorpusSplit.Validation => IsValidation(index),
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, "expected All, Train or Validation"),
    };
}

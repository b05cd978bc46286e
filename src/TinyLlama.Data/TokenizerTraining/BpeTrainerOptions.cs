namespace TinyLlama.Data.TokenizerTraining;

/// <summary>Knobs of <see cref="BpeTrainer.Train"/> beyond the vocabulary size.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>
    /// Fraction of the corpus's characters (counted with repetition) that must be pieces of their own, as
    /// SentencePiece's <c>character_coverage</c> (same default). The rarest characters beyond it are left to byte
    /// fallback, so a stray '£' or emoji costs one to four byte tokens instead of a vocabulary slot.
    /// </summary>
    public double CharacterCoverage { get; init; } = 0.9995;

    /// <summary>Stop reading texts once this many characters have been read (the text that crosses it is kept whole).</summary>
    public long MaxCharacters { get; init; } = long.MaxValue;

    /// <summary>Stop reading after this many texts.</summary>
    public int MaxDocuments { get; init; } = int.MaxValue;

    internal void Validate()
    {
        if (!(CharacterCoverage > 0 && CharacterCoverage <= 1))
            throw new ArgumentOutOfRangeException(nameof(CharacterCoverage), CharacterCoverage, "expected a fraction in (0, 1]");
        if (MaxCharacters <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxCharacters), MaxCharacters, "expected a positive number of characters");
        if (MaxDocuments <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxDocuments), MaxDocuments, "expected a positive number of documents");
    }
}

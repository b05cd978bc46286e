using System.Diagnostics;

namespace TinyLlama.Data.TokenizerTraining;

/// <summary>
/// Trains a SentencePiece-style BPE vocabulary (Llama-2's layout: <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c>,
/// <c>&lt;/s&gt;</c>, 256 byte-fallback tokens, merged pieces in merge order, then the kept single characters)
/// and hands it back as a <see cref="BpeVocabulary"/> that writes a Hugging Face <c>tokenizer.json</c>.
/// </summary>
public static class BpeTrainer
{
    /// <summary>Specials and byte tokens come first, as in Llama-2: ids 0..258.</summary>
    public const int ReservedCount = 3 + 256;

    /// <param name="texts">Documents; each is normalised on its own (its first word gets the '▁' prefix).</param>
    /// <param name="vocabSize">Exact size of the vocabulary, specials and byte tokens included.</param>
    /// <exception cref="ArgumentException">The vocabulary cannot hold the reserved tokens, the kept characters and at
    /// least one merge, or the texts run out of pairs to merge before it is full.</exception>
    public static BpeVocabulary Train(IEnumerable<string> texts, int vocabSize, BpeTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new BpeTrainerOptions();
        options.Validate();
        var clock = Stopwatch.StartNew();

        var wordCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        long characters = 0;
        int documents = 0;
        foreach (string text in texts)
        {
            if (documents >= options.MaxDocuments || characters >= options.MaxCharacters)
                break;
            TrainingWords.Count(text, wordCounts);
            characters += text.Length;
            documents++;
        }

        var kept = CharacterSelection.Select(wordCounts, options.CharacterCoverage);
        int mergeTarget = vocabSize - ReservedCount - kept.Count;
        if (mergeTarget < 1)
        {
            throw new ArgumentException(
                $"vocabSize {vocabSize} is too small: it must exceed {ReservedCount} reserved tokens (3 specials, 256 bytes) " +
                $"+ {kept.Count} characters kept at coverage {options.CharacterCoverage}, i.e. be at least {ReservedCount + kept.Count + 1}.",
                nameof(vocabSize));
        }

        var merger = new PairMerger([.. kept.Select(k => k.Character)], wordCounts, [.. BpeVocabulary.ReservedPieces()]);
        var merges = new List<(int Left, int Right)>();
        int newPieces = 0;
        while (newPieces < mergeTarget)
        {
            if (!merger.TryMergeNext(out var merge))
            {
                throw new ArgumentException(
                    $"the texts ({documents} documents, {characters} characters) ran out of pairs to merge after " +
                    $"{newPieces} new pieces; a vocabulary of {vocabSize} needs {mergeTarget}. Give more text or a smaller vocabSize.",
                    nameof(texts));
            }
            merges.Add((merge.Left, merge.Right));
            if (merge.IsNewSymbol)
                newPieces++;
        }

        var stats = new BpeTrainingStats(documents, characters, merger.DistinctWords, kept.Count, clock.Elapsed);
        return BpeVocabulary.FromTraining(merger.Symbols, kept.Count, merges, stats);
    }
}

/// <summary>What a training run read and how long it took.</summary>
public sealed record BpeTrainingStats(int Documents, long Characters, int DistinctWords, int KeptCharacters, TimeSpan Elapsed);

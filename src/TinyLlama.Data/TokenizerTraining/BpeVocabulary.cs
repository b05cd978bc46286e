namespace TinyLlama.Data.TokenizerTraining;

/// <summary>
/// A trained SentencePiece-style BPE tokenizer: the pieces by id and the merges by priority, in Llama-2's layout.
/// Ids 0..2 are <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>; 3..258 are the byte tokens
/// <c>&lt;0x00&gt;</c>..<c>&lt;0xFF&gt;</c>; then each merged piece in the order it was learned; then the kept
/// single characters, most frequent first (Llama-2 also puts its characters last).
/// </summary>
public sealed partial class BpeVocabulary
{
    public const string Unknown = "<unk>", BeginOfSequence = "<s>", EndOfSequence = "</s>";

    private BpeVocabulary(IReadOnlyList<string> pieces, IReadOnlyList<(string Left, string Right)> merges, BpeTrainingStats stats)
    {
        Pieces = pieces;
        Merges = merges;
        Stats = stats;
    }

    /// <summary>Every piece; its index is its id.</summary>
    public IReadOnlyList<string> Pieces { get; }

    /// <summary>Merges in priority order (first = applied first). Every left, right and left+right is a piece.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    public BpeTrainingStats Stats { get; }

    public int VocabSize => Pieces.Count;

    public static string BytePiece(int value) => $"<0x{value:X2}>";

    internal static IEnumerable<string> ReservedPieces()
    {
        yield return Unknown;
        yield return BeginOfSequence;
        yield return EndOfSequence;
        for (int b = 0; b < 256; b++)
            yield return BytePiece(b);
    }

    /// <summary>Lays out the ids: reserved, then merged pieces (symbols past the characters), then characters.</summary>
    internal static BpeVocabulary FromTraining(
        IReadOnlyList<string> symbols, int characterCount, List<(int Left, int Right)> merges, BpeTrainingStats stats)
    {
        var pieces = new List<string>(ReservedPieces());
        for (int s = characterCount; s < symbols.Count; s++)
            pieces.Add(symbols[s]);
        for (int s = 0; s < characterCount; s++)
            pieces.Add(symbols[s]);
        var mergePieces = merges.Select(m => (symbols[m.Left], symbols[m.Right])).ToList();
        return new BpeVocabulary(pieces, mergePieces, stats);
    }
}

using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>
/// A Llama-shaped vocabulary small enough to reason about by hand: the three specials, the 256 byte pieces, a few
/// characters and merges. Results are listed in merge order, so a piece's id also orders its SentencePiece score.
/// </summary>
internal static class TinyVocabulary
{
    public static readonly (string Left, string Right)[] Merges =
    [
        ("l", "l"), ("▁", "h"), ("▁h", "e"), ("ll", "o"), ("▁he", "llo"), ("o", "r"), ("▁", "w"), ("▁w", "or"),
        ("l", "d"), ("▁wor", "ld"), ("h", "e"), ("a", "b"), ("b", "a"), ("▁", "▁"), ("a", "a"),
    ];

    public static readonly string[] Pieces =
    [
        "<unk>", "<s>", "</s>", .. Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"),
        "▁", "h", "e", "l", "o", "w", "r", "d", "a", "b", .. Merges.Select(m => m.Left + m.Right),
    ];

    public static readonly string[] Samples =
    [
        "hello world", " hello", "hello  world", "aba", "bab", "aaaa", "aaa", "héllo", "🦙", "\n", "", "  ",
        "world hello world", "\t\u0000x", "he he hello",
    ];

    public static LlamaTokenizer Create(TokenizerSettings? settings = null) => LlamaTokenizer.FromVocabulary(Pieces, Merges, settings);

    public static int Id(string piece) => Array.IndexOf(Pieces, piece);
}

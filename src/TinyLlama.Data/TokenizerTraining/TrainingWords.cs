using System.Text;

namespace TinyLlama.Data.TokenizerTraining;

/// <summary>
/// Splits texts into the units BPE merges within, the way a SentencePiece-style tokenizer sees them: spaces become
/// '▁' and a '▁' is put in front of each text (the tokenizer.json normalizer does exactly this), then a new word
/// starts at every '▁' ("▁the", "▁cat."). Runs of other whitespace (newlines, tabs) are words of their own, so no
/// piece mixes layout with letters. Why this is safe for an encoder that runs BPE over the whole normalised text
/// at once (Llama-2's tokenizer.json has no pre-tokenizer): no learned merge can straddle a word boundary, because
/// '▁' only ever starts a piece and no piece mixes layout with other characters.
/// </summary>
internal static class TrainingWords
{
    public const char SpaceMarker = '\u2581'; // '▁'

    /// <summary>The normalised form of a text, as the tokenizer.json normalizer makes it.</summary>
    public static string Normalize(string text) =>
        text.Length == 0 ? text : SpaceMarker + text.Replace(' ', SpaceMarker);

    public static bool IsLayout(Rune rune) => Rune.IsWhiteSpace(rune) && rune.Value != ' ';

    /// <summary>Adds the words of <paramref name="text"/> to <paramref name="counts"/>.</summary>
    public static void Count(string text, Dictionary<string, long> counts)
    {
        string normalized = Normalize(text);
        int start = 0;
        bool startIsLayout = false;
        int i = 0;
        while (i < normalized.Length)
        {
            Rune.DecodeFromUtf16(normalized.AsSpan(i), out var rune, out int width);
            bool layout = IsLayout(rune);
            bool boundary = i > start && (rune.Value == SpaceMarker || layout != startIsLayout);
            if (boundary)
            {
                Add(counts, normalized[start..i]);
                start = i;
            }
            if (i == start)
                startIsLayout = layout;
            i += width;
        }
        if (start < normalized.Length)
            Add(counts, normalized[start..]);
    }

    private static void Add(Dictionary<string, long> counts, string word)
    {
        counts.TryGetValue(word, out long n);
        counts[word] = n + 1;
    }
}

namespace TinyLlama.Data.TokenizerTraining;

/// <summary>
/// Chooses the characters that become pieces: the most frequent ones until they cover the requested fraction of all
/// character occurrences (SentencePiece's character_coverage). '▁' is always kept: every word starts with it.
/// </summary>
internal static class CharacterSelection
{
    /// <summary>Kept characters, most frequent first (ties in ordinal order), with their counts.</summary>
    public static List<(string Character, long Count)> Select(Dictionary<string, long> wordCounts, double coverage)
    {
        var frequency = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        foreach (var (word, count) in wordCounts)
        {
            foreach (var rune in word.EnumerateRunes())
            {
                string character = rune.ToString();
                frequency.TryGetValue(character, out long n);
                frequency[character] = n + count;
                total += count;
            }
        }

        var ordered = frequency.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var kept = new List<(string, long)>();
        long covered = 0;
        foreach (var (character, count) in ordered)
        {
            bool required = character == TrainingWords.SpaceMarker.ToString();
            if (!required && covered >= coverage * total)
                continue;
            kept.Add((character, count));
            covered += count;
        }
        return kept;
    }
}

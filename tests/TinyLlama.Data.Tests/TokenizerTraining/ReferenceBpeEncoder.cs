using System.Text;
using TinyLlama.Data.TokenizerTraining;

namespace TinyLlama.Data.Tests.TokenizerTraining;

/// <summary>
/// The simplest correct BPE encoder, written here so the trainer is checked against the definition rather than
/// against itself: normalise as tokenizer.json says, split into characters, then repeatedly merge the adjacent pair
/// with the lowest merge rank (leftmost first); characters that are not pieces become their UTF-8 byte tokens.
/// </summary>
internal sealed class ReferenceBpeEncoder
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), int> _ranks = [];

    public ReferenceBpeEncoder(BpeVocabulary vocabulary)
    {
        for (int id = 0; id < vocabulary.Pieces.Count; id++)
            _ids[vocabulary.Pieces[id]] = id;
        for (int rank = 0; rank < vocabulary.Merges.Count; rank++)
            _ranks.TryAdd(vocabulary.Merges[rank], rank);
    }

    public List<string> Encode(string text)
    {
        string normalized = "\u2581" + text.Replace(' ', '\u2581');
        var symbols = new List<string>();
        foreach (var rune in normalized.EnumerateRunes())
        {
            string s = rune.ToString();
            if (_ids.ContainsKey(s))
                symbols.Add(s);
            else
                symbols.AddRange(Encoding.UTF8.GetBytes(s).Select(b => BpeVocabulary.BytePiece(b)));
        }
        while (true)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out int rank) && rank < bestRank)
                    (best, bestRank) = (i, rank);
            }
            if (best < 0)
                return symbols;
            symbols[best] += symbols[best + 1];
            symbols.RemoveAt(best + 1);
        }
    }

    public int Id(string piece) => _ids[piece];

    /// <summary>Pieces back to text: '▁' to space, byte tokens to bytes, the leading space dropped.</summary>
    public static string Decode(IEnumerable<string> pieces)
    {
        var bytes = new List<byte>();
        foreach (string piece in pieces)
        {
            if (piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal))
                bytes.Add(Convert.ToByte(piece[3..5], 16));
            else
                bytes.AddRange(Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' ')));
        }
        string text = Encoding.UTF8.GetString([.. bytes]);
        return text.StartsWith(' ') ? text[1..] : text;
    }
}

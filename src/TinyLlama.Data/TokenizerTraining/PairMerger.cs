namespace TinyLlama.Data.TokenizerTraining;

/// <summary>
/// The BPE merge loop over distinct words with counts. Each step merges the most frequent adjacent pair of symbols
/// (ties: the pair whose left piece, then right piece, is first in ordinal order). Pair counts are updated
/// incrementally: an index from each pair to the words that contain it means a merge touches only those words,
/// and a max-heap with lazy deletion (stale entries are skipped when popped) finds the next pair in O(log n).
/// Symbols are ints: 0..C-1 the kept characters, then one per new piece; -1 marks a character left to byte
/// fallback, which never pairs with anything.
/// </summary>
internal sealed class PairMerger
{
    public const int Excluded = -1;

    private readonly List<string> _symbols;
    private readonly Dictionary<string, int> _symbolIds;
    private readonly int[][] _words;   // symbols of each distinct word
    private readonly long[] _counts;   // occurrences of each distinct word
    private readonly Dictionary<long, long> _pairCounts = [];
    private readonly Dictionary<long, HashSet<int>> _pairWords = [];
    private readonly PriorityQueue<long, (long Count, long Pair)> _heap;
    private readonly HashSet<string> _reserved;

    public PairMerger(IReadOnlyList<string> characters, Dictionary<string, long> wordCounts, HashSet<string> reserved)
    {
        _symbols = [.. characters];
        _symbolIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _symbols.Count; i++)
            _symbolIds[_symbols[i]] = i;
        _reserved = reserved;
        _heap = new PriorityQueue<long, (long, long)>(Comparer<(long Count, long Pair)>.Create(ComparePriority));

        // Sorted so that symbol ids, heap ties and therefore the merges never depend on dictionary order.
        var words = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        _words = new int[words.Count][];
        _counts = new long[words.Count];
        for (int w = 0; w < words.Count; w++)
        {
            _words[w] = [.. words[w].Key.EnumerateRunes().Select(r => _symbolIds.GetValueOrDefault(r.ToString(), Excluded))];
            _counts[w] = words[w].Value;
            AddPairs(w, _words[w], _counts[w]);
        }
        foreach (var (pair, count) in _pairCounts)
            _heap.Enqueue(pair, (count, pair));
    }

    public IReadOnlyList<string> Symbols => _symbols;

    public int DistinctWords => _words.Length;

    /// <summary>Merges the next best pair. Returns false when no pair is left.</summary>
    public bool TryMergeNext(out (int Left, int Right, int Result, bool IsNewSymbol) merge)
    {
        while (_heap.TryDequeue(out long pair, out var priority))
        {
            if (!_pairCounts.TryGetValue(pair, out long count) || count != priority.Count)
                continue; // stale: the count changed after this entry was queued
            var (left, right) = Unpack(pair);
            string piece = _symbols[left] + _symbols[right];
            if (_reserved.Contains(piece))
            {
                _pairCounts.Remove(pair); // would spell "<s>" or "<0x41>": never a piece
                continue;
            }
            bool isNew = !_symbolIds.TryGetValue(piece, out int result);
            if (isNew)
            {
                result = _symbols.Count;
                _symbols.Add(piece);
                _symbolIds[piece] = result;
            }
            Apply(pair, left, right, result);
            merge = (left, right, result, isNew);
            return true;
        }
        merge = default;
        return false;
    }

    private void Apply(long pair, int left, int right, int result)
    {
        // Net change per pair over all touched words: most pairs of a touched word are unchanged, and re-queueing
        // them would flood the heap with entries identical to the ones already there.
        var delta = new Dictionary<long, long>();
        var words = _pairWords[pair];
        _pairWords.Remove(pair);
        foreach (int w in words)
        {
            int[] before = _words[w];
            int[] after = Merge(before, left, right, result);
            if (after.Length == before.Length)
                continue; // the index is pruned lazily: this word lost the pair to an earlier merge
            long count = _counts[w];
            ForEachPair(before, p => delta[p] = delta.GetValueOrDefault(p) - count);
            ForEachPair(after, p =>
            {
                delta[p] = delta.GetValueOrDefault(p) + count;
                if (Unpack(p).Left == result || Unpack(p).Right == result)
                    IndexWord(p, w); // only pairs with the new symbol can be new to this word
            });
            _words[w] = after;
        }
        foreach (var (p, change) in delta)
        {
            if (change == 0)
                continue;
            long updated = _pairCounts.GetValueOrDefault(p) + change;
            if (updated <= 0)
            {
                _pairCounts.Remove(p);
                continue;
            }
            _pairCounts[p] = updated;
            _heap.Enqueue(p, (updated, p));
        }
        _pairCounts.Remove(pair);
    }

    // Left to right, non-overlapping, as the encoder applies a merge: "a a a" with (a, a) becomes "aa a".
    private static int[] Merge(int[] symbols, int left, int right, int result)
    {
        var merged = new List<int>(symbols.Length);
        for (int i = 0; i < symbols.Length; i++)
        {
            if (i + 1 < symbols.Length && symbols[i] == left && symbols[i + 1] == right)
            {
                merged.Add(result);
                i++;
            }
            else
            {
                merged.Add(symbols[i]);
            }
        }
        return [.. merged];
    }

    private void AddPairs(int word, int[] symbols, long count)
    {
        ForEachPair(symbols, p =>
        {
            _pairCounts[p] = _pairCounts.GetValueOrDefault(p) + count;
            IndexWord(p, word);
        });
    }

    private void IndexWord(long pair, int word)
    {
        if (!_pairWords.TryGetValue(pair, out var set))
            _pairWords[pair] = set = [];
        set.Add(word);
    }

    private static void ForEachPair(int[] symbols, Action<long> action)
    {
        for (int i = 0; i + 1 < symbols.Length; i++)
        {
            if (symbols[i] != Excluded && symbols[i + 1] != Excluded)
                action(Pack(symbols[i], symbols[i + 1]));
        }
    }

    // Higher count first; among equal counts, the pair whose (left, right) pieces sort first ordinally.
    private int ComparePriority((long Count, long Pair) a, (long Count, long Pair) b)
    {
        int byCount = b.Count.CompareTo(a.Count);
        if (byCount != 0 || a.Pair == b.Pair)
            return byCount;
        var (al, ar) = Unpack(a.Pair);
        var (bl, br) = Unpack(b.Pair);
        int byLeft = string.CompareOrdinal(_symbols[al], _symbols[bl]);
        return byLeft != 0 ? byLeft : string.CompareOrdinal(_symbols[ar], _symbols[br]);
    }

    private static long Pack(int left, int right) => ((long)left << 32) | (uint)right;

    private static (int Left, int Right) Unpack(long pair) => ((int)(pair >> 32), (int)(pair & 0xFFFF_FFFF));
}

using System.Text;

namespace TinyLlama.Data.Tokenizer;

// Encoding: normalise, split into characters, merge the best adjacent pair until none can merge, spell what is left
// out of the vocabulary as bytes. The symbols live in arrays as a doubly linked list (a merge unlinks one node) and
// candidate merges in a heap, so a text of n characters costs O(n log n), never O(n²).
public sealed partial class LlamaTokenizer
{
    int[] idsByBmpChar = [];                 // single-character pieces by UTF-16 code unit; -1 if absent
    Dictionary<int, int> idsByAstralChar = []; // single-character pieces outside the BMP, by code point
    readonly int[] idsByByte = new int[256];  // <0x00>..<0xFF>
    (string Surface, int Id)[] userDefined = []; // matched whole, longest first, before any merge

    [ThreadStatic] static EncoderWorkspace? workspace;

    void BuildEncoderTables(string source)
    {
        idsByBmpChar = new int[char.MaxValue + 1];
        Array.Fill(idsByBmpChar, -1);
        Array.Fill(idsByByte, -1);
        var userPieces = new List<(string, int)>();
        for (int id = 0; id < pieces.Length; id++)
        {
            string piece = pieces[id];
            switch (kinds[id])
            {
                case PieceKind.Normal when piece.Length == 1:
                    idsByBmpChar[piece[0]] = id;
                    break;
                case PieceKind.Normal when piece.Length == 2 && char.IsSurrogatePair(piece[0], piece[1]):
                    idsByAstralChar[char.ConvertToUtf32(piece[0], piece[1])] = id;
                    break;
                case PieceKind.Byte when TryParseBytePiece(piece, out byte value):
                    idsByByte[value] = id;
                    break;
                case PieceKind.Byte:
                    throw TokenizerFormatException.In(source, $"byte piece {id} is '{piece}', expected the form <0xAB>");
                case PieceKind.UserDefined:
                    userPieces.Add((piece.Replace(SpaceMarker, ' '), id));
                    break;
            }
        }
        userDefined = [.. userPieces.OrderByDescending(p => p.Item1.Length)];
        if (Settings.ByteFallback && Array.IndexOf(idsByByte, -1) is int missing and >= 0)
            throw TokenizerFormatException.In(source, $"byte fallback is on but the vocabulary has no byte piece <0x{missing:X2}>");
        if (!Settings.ByteFallback && UnkId < 0)
            throw TokenizerFormatException.In(source, "without byte fallback the vocabulary needs an unknown piece (<unk>)");
    }

    /// <summary>
    /// Token ids of <paramref name="text"/>, with <c>&lt;s&gt;</c> first by default as Hugging Face's Llama tokenizer
    /// does. Text that looks like a special token ("&lt;s&gt;") is encoded as text, never as the special id.
    /// </summary>
    public int[] Encode(string text, bool addBos = true, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos) ids.Add(BosId >= 0 ? BosId : throw new InvalidOperationException("this vocabulary has no <s> to add"));
        EncodeTo(text, ids);
        if (addEos) ids.Add(EosId >= 0 ? EosId : throw new InvalidOperationException("this vocabulary has no </s> to add"));
        return [.. ids];
    }

    /// <summary>Appends the ids of <paramref name="text"/> (no BOS or EOS) to <paramref name="output"/>.</summary>
    public void EncodeTo(string text, List<int> output)
    {
        if (Settings.RemoveExtraWhitespaces) text = CollapseSpaces(text);
        if (text.Length == 0) return; // no dummy prefix either: SentencePiece and Hugging Face give no tokens
        var work = workspace ??= new EncoderWorkspace();
        int count = InitialSymbols(text, work);
        MergeAll(work, count);
        for (int i = 0; i >= 0; i = work.Next[i]) output.Add(work.Ids[i]);
    }

    // One symbol per character ('▁' for a space, plus the dummy prefix), or per UTF-8 byte of a character the
    // vocabulary lacks. Byte pieces never appear in a merge rule, so they pass through the merging untouched.
    int InitialSymbols(string text, EncoderWorkspace work)
    {
        work.Reset(text.Length + 1);
        if (Settings.AddDummyPrefix) AddCharacter(work, new Rune(SpaceMarker), idsByBmpChar[SpaceMarker]);
        for (int i = 0; i < text.Length;)
        {
            if (userDefined.Length > 0 && MatchUserDefined(text, i) is (int length and > 0, int userId))
            {
                work.Add(userId);
                i += length;
                continue;
            }
            char c = text[i];
            if (!char.IsSurrogate(c))
            {
                if (c == ' ') c = SpaceMarker;
                AddCharacter(work, new Rune(c), idsByBmpChar[c]);
                i++;
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var rune = new Rune(c, text[i + 1]);
                AddCharacter(work, rune, idsByAstralChar.GetValueOrDefault(rune.Value, -1));
                i += 2;
            }
            else
            {
                // A lone surrogate has no UTF-8 form; like every UTF-8 encoder (and llama-tokenizer-js) we spell it
                // as the bytes of U+FFFD.
                AddCharacter(work, Rune.ReplacementChar, -1);
                i++;
            }
        }
        return work.Count;
    }

    void AddCharacter(EncoderWorkspace work, Rune rune, int id)
    {
        if (id >= 0)
        {
            work.Add(id);
        }
        else if (Settings.ByteFallback)
        {
            Span<byte> utf8 = stackalloc byte[4];
            int byteCount = rune.EncodeToUtf8(utf8);
            for (int b = 0; b < byteCount; b++) work.Add(idsByByte[utf8[b]]);
        }
        else if (work.Count == 0 || work.Ids[work.Count - 1] != UnkId)
        {
            work.Add(UnkId); // consecutive unknown characters fuse into one <unk>, as both references do
        }
    }

    (int Length, int Id) MatchUserDefined(string text, int start)
    {
        foreach (var (surface, id) in userDefined)
        {
            if (string.CompareOrdinal(text, start, surface, 0, surface.Length) == 0) return (surface.Length, id);
        }
        return (0, -1);
    }

    void MergeAll(EncoderWorkspace work, int count)
    {
        int[] ids = work.Ids, next = work.Next, prev = work.Prev;
        var queue = work.Queue;
        queue.Clear();
        for (int i = 0; i + 1 < count; i++) TryQueue(work, i, i + 1);
        while (queue.Count > 0)
        {
            var c = queue.Pop();
            // Skip candidates a neighbour's merge has invalidated: either side changed or they are no longer adjacent.
            if (ids[c.Left] != c.LeftId || next[c.Left] != c.Right || ids[c.Right] != c.RightId) continue;
            ids[c.Left] = c.Result;
            ids[c.Right] = -1;
            int after = next[c.Right];
            next[c.Left] = after;
            if (after >= 0) prev[after] = c.Left;
            if (prev[c.Left] >= 0) TryQueue(work, prev[c.Left], c.Left);
            if (after >= 0) TryQueue(work, c.Left, after);
        }
    }

    void TryQueue(EncoderWorkspace work, int left, int right)
    {
        int leftId = work.Ids[left], rightId = work.Ids[right];
        if (merges.TryGet(leftId, rightId, out int result, out int priority))
            work.Queue.Push(priority, new MergeQueue.Candidate(left, right, leftId, rightId, result));
    }

    // SentencePiece's remove_extra_whitespaces: no leading or trailing spaces, runs of spaces become one.
    static string CollapseSpaces(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (char c in text.AsSpan().Trim(' '))
        {
            if (c == ' ' && builder.Length > 0 && builder[^1] == ' ') continue;
            builder.Append(c);
        }
        return builder.ToString();
    }

    /// <summary>Per-thread buffers, reused so encoding many documents does not allocate per call.</summary>
    sealed class EncoderWorkspace
    {
        public int[] Ids = new int[256], Next = new int[256], Prev = new int[256];
        public readonly MergeQueue Queue = new();
        public int Count;

        public void Reset(int capacityHint)
        {
            Count = 0;
            EnsureCapacity(capacityHint);
        }

        public void Add(int id)
        {
            if (Count == Ids.Length) EnsureCapacity(Count * 2);
            Ids[Count] = id;
            Prev[Count] = Count - 1;
            Next[Count] = -1;
            if (Count > 0) Next[Count - 1] = Count;
            Count++;
        }

        void EnsureCapacity(int capacity)
        {
            if (capacity <= Ids.Length) return;
            Array.Resize(ref Ids, capacity);
            Array.Resize(ref Next, capacity);
            Array.Resize(ref Prev, capacity);
        }
    }
}

using System.Text;

namespace TinyLlama.Data.Tokenizer;

/// <summary>How the text is normalised before the merges, as SentencePiece's NormalizerSpec says it.</summary>
/// <param name="AddDummyPrefix">Prepend '▁' to non-empty text, so a word at the start tokenizes like one after a space.</param>
/// <param name="RemoveExtraWhitespaces">Trim spaces at both ends and collapse runs of spaces (off for Llama-2).</param>
/// <param name="ByteFallback">Spell characters the vocabulary lacks as UTF-8 byte pieces instead of &lt;unk&gt;.</param>
public sealed record TokenizerSettings(bool AddDummyPrefix = true, bool RemoveExtraWhitespaces = false, bool ByteFallback = true)
{
    public static TokenizerSettings Llama2 { get; } = new();
}

/// <summary>
/// The Llama-2 tokenizer: SentencePiece byte-pair encoding with byte fallback. It gives the ids of Hugging Face's
/// Llama tokenizer (and SentencePiece's) for every input, and decodes ids back to exactly the text encoded.
/// Load it from a Hugging Face <c>tokenizer.json</c> or a SentencePiece <c>tokenizer.model</c>, or build it from a
/// vocabulary and merges. Instances are immutable; <see cref="Encode"/> and <see cref="Decode"/> are thread-safe.
/// </summary>
public sealed partial class LlamaTokenizer
{
    public const char SpaceMarker = '\u2581'; // '▁', SentencePiece's visible space

    readonly string[] pieces;
    readonly PieceKind[] kinds;
    readonly Dictionary<string, int> idsByPiece;
    readonly MergeTable merges;

    internal LlamaTokenizer(string[] pieces, PieceKind[] kinds, IEnumerable<MergeRule> merges, TokenizerSettings settings,
        string source)
    {
        if (pieces.Length != kinds.Length) throw new ArgumentException("one kind per piece is needed", nameof(kinds));
        this.pieces = pieces;
        this.kinds = kinds;
        Settings = settings;
        idsByPiece = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            if (!idsByPiece.TryAdd(pieces[id], id))
                throw TokenizerFormatException.In(source, $"piece '{pieces[id]}' appears twice (ids {idsByPiece[pieces[id]]} and {id})");
        }
        UnkId = FindId(PieceKind.Unknown, "<unk>");
        BosId = FindId(PieceKind.Control, "<s>");
        EosId = FindId(PieceKind.Control, "</s>");
        this.merges = new MergeTable(merges);
        BuildEncoderTables(source);
        BuildDecoderTables();
    }

    /// <summary>
    /// A tokenizer from a vocabulary (id = index) and merges in priority order, e.g. from a BPE trainer. Kinds follow
    /// Llama-2's conventions: <c>&lt;unk&gt;</c> is unknown, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> are control, and
    /// <c>&lt;0x00&gt;</c>…<c>&lt;0xFF&gt;</c> are bytes when byte fallback is on; every other piece is normal.
    /// </summary>
    public static LlamaTokenizer FromVocabulary(IReadOnlyList<string> pieces, IReadOnlyList<(string Left, string Right)> merges,
        TokenizerSettings? settings = null)
    {
        settings ??= TokenizerSettings.Llama2;
        var kinds = pieces.Select(p => ConventionalKind(p, settings.ByteFallback)).ToArray();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < pieces.Count; i++) ids.TryAdd(pieces[i], i);
        return new LlamaTokenizer(pieces.ToArray(), kinds, MergeRulesFromPairs(merges, ids, "vocabulary"), settings, "vocabulary");
    }

    /// <summary>
    /// Loads <c>tokenizer.json</c> (Hugging Face) or <c>tokenizer.model</c> (SentencePiece), told apart by content; a
    /// folder is searched for tokenizer.json, then tokenizer.model.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing to load at <paramref name="path"/>.</exception>
    /// <exception cref="TokenizerFormatException">The file is malformed or describes a tokenizer this class does not implement.</exception>
    public static LlamaTokenizer Load(string path)
    {
        if (Directory.Exists(path))
        {
            string json = Path.Combine(path, "tokenizer.json"), model = Path.Combine(path, "tokenizer.model");
            path = File.Exists(json) ? json
                : File.Exists(model) ? model
                : throw new FileNotFoundException($"{path}: folder has neither tokenizer.json nor tokenizer.model", path);
        }
        else if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: tokenizer file not found", path);
        }
        byte[] bytes = File.ReadAllBytes(path);
        return LooksLikeJson(bytes) ? TokenizerJson.Read(bytes, path) : SentencePieceModel.Read(bytes, path);
    }

    /// <summary>Writes a Hugging Face tokenizer.json that <see cref="Load"/> and the <c>tokenizers</c> library read back.</summary>
    public void Save(string path) => TokenizerJson.Write(this, path);

    public TokenizerSettings Settings { get; }
    public int VocabSize => pieces.Length;
    /// <summary>Id of <c>&lt;unk&gt;</c>, or -1 if the vocabulary has none.</summary>
    public int UnkId { get; }
    /// <summary>Id of <c>&lt;s&gt;</c>, or -1 if the vocabulary has none.</summary>
    public int BosId { get; }
    /// <summary>Id of <c>&lt;/s&gt;</c>, or -1 if the vocabulary has none.</summary>
    public int EosId { get; }

    public string IdToPiece(int id) => pieces[CheckId(id)];
    public PieceKind KindOf(int id) => kinds[CheckId(id)];

    /// <summary>The id of <paramref name="piece"/>; like SentencePiece, <see cref="UnkId"/> when it is not in the vocabulary.</summary>
    public int PieceToId(string piece) => idsByPiece.TryGetValue(piece, out int id) ? id : UnkId;

    public bool TryGetId(string piece, out int id) => idsByPiece.TryGetValue(piece, out id);

    /// <summary>Every merge rule, best first.</summary>
    public IEnumerable<MergeRule> Merges => merges.InPriorityOrder();

    int CheckId(int id) => (uint)id < (uint)pieces.Length
        ? id
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary (size {pieces.Length})");

    // Llama names them <unk>, <s>, </s>; a vocabulary that names its unknown piece otherwise still has one of that kind.
    int FindId(PieceKind kind, string conventionalName)
        => idsByPiece.TryGetValue(conventionalName, out int id) && kinds[id] == kind ? id
            : kind == PieceKind.Unknown ? Array.IndexOf(kinds, PieceKind.Unknown)
            : -1;

    internal static PieceKind ConventionalKind(string piece, bool byteFallback) => piece switch
    {
        "<unk>" => PieceKind.Unknown,
        "<s>" or "</s>" => PieceKind.Control,
        _ when byteFallback && TryParseBytePiece(piece, out _) => PieceKind.Byte,
        _ => PieceKind.Normal,
    };

    /// <summary>"&lt;0xAB&gt;" → 0xAB.</summary>
    internal static bool TryParseBytePiece(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value)
            && piece.AsSpan(3, 2).ToString().ToUpperInvariant() == piece.Substring(3, 2);
    }

    /// <summary>Rules from (left, right) pairs in priority order; the merged piece must be in the vocabulary.</summary>
    internal static List<MergeRule> MergeRulesFromPairs(IReadOnlyList<(string Left, string Right)> pairs,
        Dictionary<string, int> ids, string source)
    {
        var rules = new List<MergeRule>(pairs.Count);
        for (int rank = 0; rank < pairs.Count; rank++)
        {
            var (left, right) = pairs[rank];
            int Lookup(string piece) => ids.TryGetValue(piece, out int id) ? id
                : throw TokenizerFormatException.In(source, $"merge {rank} ('{left}' '{right}') uses '{piece}', which is not in the vocabulary");
            rules.Add(new MergeRule(Lookup(left), Lookup(right), Lookup(left + right), rank));
        }
        return rules;
    }

    static bool LooksLikeJson(byte[] bytes)
    {
        // A ModelProto starts with field 1 (tag byte 0x0A); JSON starts with '{' after optional BOM and whitespace.
        int i = bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? 3 : 0;
        while (i < bytes.Length && bytes[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') i++;
        return i < bytes.Length && bytes[i] == (byte)'{';
    }
}

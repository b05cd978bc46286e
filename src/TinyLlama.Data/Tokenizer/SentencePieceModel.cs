namespace TinyLlama.Data.Tokenizer;

/// <summary>
/// Reads SentencePiece's <c>tokenizer.model</c>, a serialized <c>ModelProto</c>. The fields used:
/// <code>
/// ModelProto     { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2; NormalizerSpec normalizer_spec = 3; }
/// SentencePiece  { string piece = 1; float score = 2; Type type = 3 [default NORMAL]; }
/// TrainerSpec    { ModelType model_type = 3 [default UNIGRAM]; bool treat_whitespace_as_suffix = 24; bool byte_fallback = 35; }
/// NormalizerSpec { string name = 1; bytes precompiled_charsmap = 2; bool add_dummy_prefix = 3 [default true];
///                  bool remove_extra_whitespaces = 4 [default true]; bool escape_whitespaces = 5 [default true]; }
/// </code>
/// A BPE model has no merge list: two adjacent symbols may merge when their concatenation is a normal piece, and
/// the piece with the higher score merges first. Those rules are spelled out here once, as (left, right) pairs
/// for every way of splitting each piece in two, so encoding runs the same code for both file formats.
/// </summary>
internal static class SentencePieceModel
{
    const int ModelTypeBpe = 2;

    public static LlamaTokenizer Read(byte[] bytes, string source)
    {
        var pieces = new List<string>();
        var scores = new List<float>();
        var kinds = new List<PieceKind>();
        int modelType = 1; // UNIGRAM, the proto's default
        bool byteFallback = false, suffixWhitespace = false;
        bool addDummyPrefix = true, removeExtraWhitespaces = true, escapeWhitespaces = true;
        int charsmapLength = 0;
        string normalizerName = "";

        var reader = new ProtobufReader(bytes, source);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtobufReader.LengthDelimited);
                    var pieceBytes = reader.ReadLengthDelimited(out int offset);
                    var (piece, score, kind) = ReadPiece(new ProtobufReader(pieceBytes, source, offset), source, pieces.Count);
                    pieces.Add(piece);
                    scores.Add(score);
                    kinds.Add(kind);
                    break;
                case 2:
                    reader.Expect(field, wire, ProtobufReader.LengthDelimited);
                    var trainerBytes = reader.ReadLengthDelimited(out int trainerOffset);
                    var trainer = new ProtobufReader(trainerBytes, source, trainerOffset);
                    while (!trainer.AtEnd)
                    {
                        var (f, w) = trainer.ReadKey();
                        if (f == 3 && w == ProtobufReader.Varint) modelType = (int)trainer.ReadVarint();
                        else if (f == 24 && w == ProtobufReader.Varint) suffixWhitespace = trainer.ReadVarint() != 0;
                        else if (f == 35 && w == ProtobufReader.Varint) byteFallback = trainer.ReadVarint() != 0;
                        else trainer.Skip(w);
                    }
                    break;
                case 3:
                    reader.Expect(field, wire, ProtobufReader.LengthDelimited);
                    var normalizerBytes = reader.ReadLengthDelimited(out int normalizerOffset);
                    var normalizer = new ProtobufReader(normalizerBytes, source, normalizerOffset);
                    while (!normalizer.AtEnd)
                    {
                        var (f, w) = normalizer.ReadKey();
                        if (f == 1 && w == ProtobufReader.LengthDelimited) normalizerName = normalizer.ReadString();
                        else if (f == 2 && w == ProtobufReader.LengthDelimited) charsmapLength = normalizer.ReadLengthDelimited(out _).Length;
                        else if (f == 3 && w == ProtobufReader.Varint) addDummyPrefix = normalizer.ReadVarint() != 0;
                        else if (f == 4 && w == ProtobufReader.Varint) removeExtraWhitespaces = normalizer.ReadVarint() != 0;
                        else if (f == 5 && w == ProtobufReader.Varint) escapeWhitespaces = normalizer.ReadVarint() != 0;
                        else normalizer.Skip(w);
                    }
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (pieces.Count == 0) throw TokenizerFormatException.In(source, "no pieces: this is not a SentencePiece model");
        if (modelType != ModelTypeBpe)
            throw TokenizerFormatException.In(source, $"trainer_spec.model_type is {ModelTypeName(modelType)}; only BPE (as Llama-2) is supported");
        if (charsmapLength > 0)
            throw TokenizerFormatException.In(source, $"normalizer '{normalizerName}' rewrites text with a precompiled character map, which is not supported (Llama-2 uses 'identity')");
        if (!escapeWhitespaces || suffixWhitespace)
            throw TokenizerFormatException.In(source, "only escape_whitespaces on with the '▁' as a prefix (as Llama-2) is supported");

        var settings = new TokenizerSettings(addDummyPrefix, removeExtraWhitespaces, byteFallback);
        var pieceArray = pieces.ToArray();
        return new LlamaTokenizer(pieceArray, [.. kinds], MergeRulesFromScores(pieceArray, [.. kinds], [.. scores]), settings, source);
    }

    static (string Piece, float Score, PieceKind Kind) ReadPiece(ProtobufReader reader, string source, int index)
    {
        string? piece = null;
        float score = 0;
        int type = (int)PieceKind.Normal;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            if (field == 1 && wire == ProtobufReader.LengthDelimited) piece = reader.ReadString();
            else if (field == 2 && wire == ProtobufReader.Fixed32) score = reader.ReadFloat();
            else if (field == 3 && wire == ProtobufReader.Varint) type = (int)reader.ReadVarint();
            else reader.Skip(wire);
        }
        if (piece is null) throw TokenizerFormatException.In(source, $"piece {index} has no text (field 1)");
        if (!Enum.IsDefined((PieceKind)type)) throw TokenizerFormatException.In(source, $"piece {index} ('{piece}') has unknown type {type}");
        return (piece, score, (PieceKind)type);
    }

    // Every split of a normal piece into two normal pieces is a rule; its priority is the rank of the piece's score.
    static List<MergeRule> MergeRulesFromScores(string[] pieces, PieceKind[] kinds, float[] scores)
    {
        var normalIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            if (kinds[id] == PieceKind.Normal) normalIds.TryAdd(pieces[id], id);
        }
        // Dense rank: equal scores share a priority, and the encoder then merges the leftmost pair first, as SentencePiece.
        var rankOfScore = scores.Distinct().OrderByDescending(s => s).Select((s, rank) => (s, rank)).ToDictionary(x => x.s, x => x.rank);
        var rules = new List<MergeRule>();
        foreach (var (piece, id) in normalIds)
        {
            for (int cut = 1; cut < piece.Length; cut++)
            {
                if (char.IsLowSurrogate(piece[cut])) continue; // never split a surrogate pair
                if (normalIds.TryGetValue(piece[..cut], out int left) && normalIds.TryGetValue(piece[cut..], out int right))
                    rules.Add(new MergeRule(left, right, id, rankOfScore[scores[id]]));
            }
        }
        return rules;
    }

    static string ModelTypeName(int type) => type switch
    {
        1 => "UNIGRAM",
        2 => "BPE",
        3 => "WORD",
        4 => "CHAR",
        _ => type.ToString(),
    };
}

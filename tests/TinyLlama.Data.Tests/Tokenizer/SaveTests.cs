using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>Save writes a tokenizer.json that loads back to the same tokenizer.</summary>
public class SaveTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("tinyllama-save-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void TinyVocabularyRoundTrips()
    {
        var tiny = TinyVocabulary.Create();
        string path = Path.Combine(folder, "tokenizer.json");
        tiny.Save(path);
        var loaded = LlamaTokenizer.Load(path);

        Assert.Equal(tiny.VocabSize, loaded.VocabSize);
        Assert.Equal(tiny.Merges, loaded.Merges);
        Assert.Equal(tiny.Settings, loaded.Settings);
        foreach (string text in TinyVocabulary.Samples) Assert.Equal(tiny.Encode(text), loaded.Encode(text));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [SkippableFact]
    public void Llama2RoundTripsThroughSave()
    {
        var llama = TokenizerAssets.Llama2;
        string path = Path.Combine(folder, "tokenizer.json");
        llama.Save(path);
        var loaded = LlamaTokenizer.Load(path);

        Assert.Equal(llama.Merges, loaded.Merges);
        foreach (var c in TokenizerAssets.Cases.All) Assert.Equal(c.Ids, loaded.Encode(c.Text));
    }
}

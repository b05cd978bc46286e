using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>Every bad input is refused with a message that names the file and the problem.</summary>
public class LoadErrorTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("tinyllama-tok-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    string WriteFile(string name, string content)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void MissingFile()
    {
        string path = Path.Combine(folder, "nope.json");
        var error = Assert.Throws<FileNotFoundException>(() => LlamaTokenizer.Load(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void FolderWithoutTokenizer()
    {
        var error = Assert.Throws<FileNotFoundException>(() => LlamaTokenizer.Load(folder));
        Assert.Contains("neither tokenizer.json nor tokenizer.model", error.Message);
    }

    [Fact]
    public void MalformedJson()
    {
        string path = WriteFile("tokenizer.json", "{ \"model\": { \"type\": \"BPE\", ");
        var error = Assert.Throws<TokenizerFormatException>(() => LlamaTokenizer.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("not valid JSON", error.Message);
    }

    [Theory]
    [InlineData("""{"model": {"type": "Unigram", "vocab": []}}""", "only 'BPE'")]
    [InlineData("""{"normalizer": null}""", "no 'model' object")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}}""", "gives id 0 to both")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []}}""", "ids are not 0..1")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"<unk>": 0, "a": 1}, "merges": ["a c"]}, "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}}""", "merge 0 ('a' 'c') uses 'c'")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"<unk>": 0, "a": 1}, "merges": ["a a a"]}, "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}}""", "expected two pieces")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"<unk>": 0}, "merges": []}, "normalizer": {"type": "NFKC"}}""", "normalizer step 'NFKC' is not supported")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"<unk>": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}""", "pre_tokenizer 'ByteLevel' is not supported")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"<unk>": 0}, "merges": []}}""", "turns spaces into '▁'")]
    [InlineData("""{"model": {"type": "BPE", "byte_fallback": true, "vocab": {"<unk>": 0}, "merges": []}, "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}}""", "no byte piece <0x00>")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": "zero"}}}""", "not a non-negative integer id")]
    public void UnsupportedOrInconsistentJson(string json, string expected)
    {
        string path = WriteFile("tokenizer.json", json);
        var error = Assert.Throws<TokenizerFormatException>(() => LlamaTokenizer.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void GarbageIsReadAsProtobufAndRefused()
    {
        string path = Path.Combine(folder, "tokenizer.model");
        File.WriteAllBytes(path, [0x0A, 0xFF, 0xFF, 0x01]);
        var error = Assert.Throws<TokenizerFormatException>(() => LlamaTokenizer.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("malformed protobuf", error.Message);
    }

    [Fact]
    public void EmptyFileIsNotAModel()
    {
        string path = WriteFile("tokenizer.model", "");
        var error = Assert.Throws<TokenizerFormatException>(() => LlamaTokenizer.Load(path));
        Assert.Contains("no pieces", error.Message);
    }
}

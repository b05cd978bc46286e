using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Cli.Tests;

/// <summary>
/// <c>tokenize</c> end to end on a tokenizer.json the test writes (a few merges over the byte vocabulary), so these
/// run without the fetched Llama-2 assets; the Llama-2 ids themselves are checked in TinyLlama.Data.Tests.
/// </summary>
public class TokenizeCommandTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("tinyllama-cli-tok-").FullName;
    readonly string tokenizerPath;
    readonly LlamaTokenizer tokenizer;

    public TokenizeCommandTests()
    {
        string[] pieces = ["<unk>", "<s>", "</s>", .. Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"),
            "▁", "h", "i", "▁h", "▁hi"];
        tokenizer = LlamaTokenizer.FromVocabulary(pieces, [("▁", "h"), ("▁h", "i")]);
        tokenizerPath = Path.Combine(folder, "tokenizer.json");
        tokenizer.Save(tokenizerPath);
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void EncodesWithBosByDefault()
    {
        var result = CliRunner.Run("tokenize", "--tokenizer", tokenizerPath, "--text", "hi hi");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Join(' ', tokenizer.Encode("hi hi")), result.Output.TrimEnd());
        Assert.StartsWith("1 263 263", result.Output); // <s> ▁hi ▁hi
    }

    [Fact]
    public void NoBosLeavesItOut()
    {
        var result = CliRunner.Run("tokenize", "--tokenizer", tokenizerPath, "--text", "hi", "--no-bos");
        Assert.Equal("263", result.Output.TrimEnd());
    }

    [Fact]
    public void DecodeGivesTheTextBack()
    {
        string ids = string.Join(' ', tokenizer.Encode("hi é🦙"));
        var result = CliRunner.Run("tokenize", "--tokenizer", folder, "--decode", ids);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hi é🦙", result.Output.TrimEnd('\r', '\n'));
    }

    [Fact]
    public void MissingTokenizerIsAnError()
    {
        string path = Path.Combine(folder, "missing.json");
        var result = CliRunner.Run("tokenize", "--tokenizer", path, "--text", "hi");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(path, result.Error);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void BadIdIsAnError()
    {
        var result = CliRunner.Run("tokenize", "--tokenizer", tokenizerPath, "--decode", "1 99999");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("'99999' is not a token id", result.Error);
    }

    [Theory]
    [InlineData("--text", "hi", "--decode", "1")]
    [InlineData]
    public void NeedsExactlyOneOfTextAndDecode(params string[] extra)
    {
        var result = CliRunner.Run(["tokenize", "--tokenizer", tokenizerPath, .. extra]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("exactly one of --text and --decode", result.Error);
    }
}

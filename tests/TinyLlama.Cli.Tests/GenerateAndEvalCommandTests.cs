using System.Globalization;
using System.Text.Json;
using TinyLlama.Data.Tokenizer;
using TinyLlama.Model;

namespace TinyLlama.Cli.Tests;

/// <summary>
/// generate and eval on a small random model saved as a Hugging Face folder with a tokenizer whose vocabulary
/// fills the model's 512 ids (specials, the 256 byte pieces, letters, then merged pieces).
/// </summary>
public sealed class GenerateAndEvalCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tl-cli-" + Guid.NewGuid().ToString("N"));

    public GenerateAndEvalCommandTests()
    {
        Directory.CreateDirectory(_dir);
        var pieces = new List<string> { "<unk>", "<s>", "</s>" };
        pieces.AddRange(Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"));
        pieces.Add("▁");
        pieces.AddRange("abcdefghijklmnopqrstuvwxyz".Select(c => c.ToString()));
        var merges = new List<(string, string)>();
        foreach (char c in "abcdefghijklmnopqrstuvwxyz")
        {
            pieces.Add("▁" + c);
            merges.Add(("▁", c.ToString()));
        }
        for (int i = 0; pieces.Count < LlamaPresets.Nano.VocabSize; i++)
        {
            string left = "▁" + (char)('a' + i % 26), right = ((char)('a' + i / 26)).ToString();
            pieces.Add(left + right);
            merges.Add((left, right));
        }
        LlamaTokenizer.FromVocabulary(pieces, merges).Save(Path.Combine(_dir, "tokenizer.json"));
        using var model = new LlamaForCausalLM(LlamaPresets.Nano, seed: 1);
        HfCheckpoint.Save(model, _dir);
        File.WriteAllText(Path.Combine(_dir, "text.txt"), "the quick brown fox jumps over the lazy dog. " + string.Concat(Enumerable.Repeat("hello world ", 30)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Generate_Greedy_IsDeterministic_AndPrintsOnlyTheContinuation()
    {
        var a = CliRunner.Run("generate", "--model", _dir, "--prompt", "hello", "--max-new-tokens", "8", "--temperature", "0");
        var b = CliRunner.Run("generate", "--model", _dir, "--prompt", "hello", "--max-new-tokens", "8", "--temperature", "0");
        Assert.True(a.ExitCode == 0, a.ToString());
        Assert.Equal(a.Output, b.Output);
        Assert.DoesNotContain("hello", a.Output);
        Assert.Contains("tokens/s", a.Error);
        Assert.Contains("8 tokens", a.Error);
    }

    [Fact]
    public void Generate_Sampling_DependsOnTheSeed()
    {
        string[] Args(int seed) => ["generate", "--model", _dir, "--prompt", "hello", "--max-new-tokens", "12", "--temperature", "1.5", "--top-p", "1", "--seed", seed.ToString(CultureInfo.InvariantCulture)];
        var a = CliRunner.Run(Args(1));
        var a2 = CliRunner.Run(Args(1));
        var b = CliRunner.Run(Args(2));
        Assert.Equal(a.Output, a2.Output);
        Assert.NotEqual(a.Output, b.Output);
    }

    [Fact]
    public void Eval_Json_ReportsLossPerplexityAndTokens()
    {
        var r = CliRunner.Run("eval", "--model", _dir, "--text", Path.Combine(_dir, "text.txt"), "--json", "--context", "32");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Output);
        double loss = doc.RootElement.GetProperty("loss").GetDouble();
        double ppl = doc.RootElement.GetProperty("perplexity").GetDouble();
        long tokens = doc.RootElement.GetProperty("tokens").GetInt64();
        // A random model is close to uniform over 512 ids: loss near ln 512 = 6.24.
        Assert.InRange(loss, 5.0, 7.5);
        Assert.Equal(Math.Exp(loss), ppl, 6);
        Assert.True(tokens > 32, $"{tokens} tokens: expected several windows");
    }

    [Fact]
    public void MissingModelFolder_IsAClearError()
    {
        var r = CliRunner.Run("generate", "--model", Path.Combine(_dir, "nope"), "--prompt", "x");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("nope", r.Error);
        Assert.DoesNotContain("   at ", r.Error);
    }

    [Fact]
    public void MissingTextFile_IsAClearError()
    {
        var r = CliRunner.Run("eval", "--model", _dir, "--text", Path.Combine(_dir, "missing.txt"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("missing.txt", r.Error);
    }
}

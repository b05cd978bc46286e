using TinyLlama.Data.Packed;
using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Cli.Tests;

public sealed class PrepareAndBenchCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tl-prep-" + Guid.NewGuid().ToString("N"));

    public PrepareAndBenchCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Prepare_WritesTrainAndValidationFilesThatLoad()
    {
        var pieces = new List<string> { "<unk>", "<s>", "</s>" };
        pieces.AddRange(Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"));
        pieces.Add("▁");
        pieces.AddRange("abcdefghijklmnopqrstuvwxyz".Select(c => c.ToString()));
        string tokenizer = Path.Combine(_dir, "tokenizer.json");
        LlamaTokenizer.FromVocabulary(pieces, []).Save(tokenizer);
        string input = Path.Combine(_dir, "docs.jsonl");
        File.WriteAllLines(input, Enumerable.Range(0, 40).Select(i => $"{{\"text\": \"document number {i} says hello world\"}}"));

        string output = Path.Combine(_dir, "packed");
        var r = CliRunner.Run("prepare", "--input", input, "--tokenizer", tokenizer, "--out", output, "--chunk-size", "64", "--val-fraction", "0.2", "--keep-remainder");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("40 documents", r.Output);
        using var train = PackedDataset.Open(Path.Combine(output, "train_*.bin"));
        using var validation = PackedDataset.Open(Path.Combine(output, "validation_*.bin"));
        Assert.Equal(64, train.ChunkSize);
        Assert.True(train.TotalTokens > validation.TotalTokens && validation.TotalTokens > 0);
    }

    [Fact]
    public void Prepare_MissingInput_IsAClearError()
    {
        var r = CliRunner.Run("prepare", "--input", Path.Combine(_dir, "none.txt"), "--tokenizer", Path.Combine(_dir, "none.json"), "--out", Path.Combine(_dir, "o"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("none", r.Error);
    }

    [Fact]
    public void BenchTrain_ReportsTokensPerSecond()
    {
        var r = CliRunner.Run("bench", "train", "--preset", "nano", "--seq-len", "16", "--batch-size", "2", "--steps", "2", "--warmup", "1");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("tokens/s:", r.Output);
        Assert.Contains("(warm-up)", r.Output);
    }
}

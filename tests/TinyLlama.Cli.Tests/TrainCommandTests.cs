using System.Diagnostics;
using System.Text.Json;

namespace TinyLlama.Cli.Tests;

/// <summary>
/// train end to end on the nano preset: the embedded corpus, a trained tokenizer, checkpoints, metrics, plot and a
/// Hugging Face export; refusing to overwrite a run; and an interruption by SIGTERM followed by --resume, whose losses
/// must equal those of an uninterrupted run.
/// </summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tl-traincli-" + Guid.NewGuid().ToString("N"));

    public TrainCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string[] Args(string outDir, int steps, params string[] extra) =>
    [
        "train", "--preset", "nano", "--out", outDir, "--max-steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--seq-len", "32", "--batch-size", "4", "--micro-batch-size", "2", "--eval-every", "3", "--eval-batches", "2",
        "--checkpoint-every", "3", "--samples", "1", .. extra,
    ];

    // A schedule far longer than the test lets it run: --max-time cuts the runs, and the signal lands mid-run.
    private static string[] LongArgs(string outDir, params string[] extra) =>
    [
        "train", "--preset", "nano", "--out", outDir, "--max-steps", "100000", "--seq-len", "64", "--batch-size", "4",
        "--eval-every", "1000", "--eval-batches", "1", "--checkpoint-every", "1000", "--samples", "0", .. extra,
    ];

    private static double[] Losses(string outDir) =>
        File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("loss", out _))
            .Select(e => e.GetProperty("loss").GetDouble())
            .ToArray();

    [Fact]
    public void Train_WritesEverything_AndRefusesToOverwriteARun()
    {
        string outDir = Path.Combine(_dir, "run");
        var r = CliRunner.Run(Args(outDir, 6));
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (string file in new[] { "tokenizer.json", "metrics.jsonl", "loss.svg", "run.json", "hf/config.json", "hf/model.safetensors", "hf/tokenizer.json", "checkpoints/step-00000006/state.json" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), $"{file} is missing\n{r}");
        Assert.Equal(6, Losses(outDir).Length);
        Assert.Contains("sample 1:", r.Output);

        // The exported folder is a model generate can use.
        var g = CliRunner.Run("generate", "--model", Path.Combine(outDir, "hf"), "--prompt", "Emma", "--max-new-tokens", "5", "--temperature", "0");
        Assert.True(g.ExitCode == 0, g.ToString());

        var again = CliRunner.Run(Args(outDir, 6));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("--resume", again.Error);
    }

    [Fact]
    public void BadFlags_AreClearErrors()
    {
        var r = CliRunner.Run("train", "--preset", "huge", "--out", Path.Combine(_dir, "x"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("huge", r.Error);
        var t = CliRunner.Run("train", "--max-time", "soon", "--out", Path.Combine(_dir, "y"));
        Assert.Equal(1, t.ExitCode);
        Assert.Contains("--max-time", t.Error);
        var d = CliRunner.Run("train", "--preset", "nano", "--data", Path.Combine(_dir, "missing"), "--out", Path.Combine(_dir, "z"));
        Assert.Equal(1, d.ExitCode);
        Assert.Contains("missing", d.Error);
        var b = CliRunner.Run("train", "--preset", "nano", "--bucket-mb", "0", "--out", Path.Combine(_dir, "w"));
        Assert.Equal(1, b.ExitCode);
        Assert.Contains("--bucket-mb 0", b.Error);
        Assert.False(Directory.Exists(Path.Combine(_dir, "w")), "a refused command created its output folder");
    }

    [Fact]
    public async Task InterruptedBySigterm_ThenResumed_GivesTheLossesOfAnUninterruptedRun()
    {
        string full = Path.Combine(_dir, "full"), split = Path.Combine(_dir, "split");
        var r = CliRunner.Run(LongArgs(full, "--max-time", "8s"));
        Assert.True(r.ExitCode == 0, r.ToString());
        var expected = Losses(full);

        // A real process and a real signal, driven by a small shell script: start the run, wait until a few steps
        // are logged, send SIGTERM, wait for the process. (SIGINT is the same handler, but a background job
        // inherits SIGINT as ignored, so SIGTERM is what a test can send.)
        string cli = Path.Combine(AppContext.BaseDirectory, "TinyLlama.Cli.dll");
        string metrics = Path.Combine(split, "metrics.jsonl");
        string command = "dotnet '" + cli + "' " + string.Join(" ", LongArgs(split).Select(a => "'" + a + "'")) + " 2> '" + split + ".err' & pid=$!; " +
            "for i in $(seq 1200); do [ -f '" + metrics + "' ] && [ $(wc -l < '" + metrics + "') -ge 5 ] && break; sleep 0.1; done; " +
            "kill -TERM $pid; wait $pid";
        var start = new ProcessStartInfo("timeout", ["180", "bash", "-c", command]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        string errors = File.ReadAllText(split + ".err");
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{errors}");
        Assert.Contains("SIGTERM", errors);
        int stoppedAt = Losses(split).Length;
        Assert.InRange(stoppedAt, 4, expected.Length - 2);

        var resumed = CliRunner.Run(LongArgs(split, "--resume", "--max-time", "3s"));
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"resumed from", resumed.Error);
        var after = Losses(split);
        Assert.True(after.Length > stoppedAt + 1, $"the resumed run made no progress: {after.Length} losses");
        int common = Math.Min(after.Length, expected.Length);
        Assert.Equal(expected[..common], after[..common]);
    }

    private string PackedFolder(string name, int seed)
    {
        string folder = Path.Combine(_dir, name);
        var builder = new TinyLlama.Data.Packed.PackedDatasetBuilder(folder, "train_" + name, chunkSize: 33 * 8, vocabSize: 512);
        var rng = new Random(seed);
        builder.Add(Enumerable.Range(0, 33 * 8 * 3).Select(_ => rng.Next(3, 512)).ToArray());
        builder.Finish();
        return folder;
    }

    [Fact]
    public void SeveralDataSources_AreMixedByWeight_AndWeightsMustMatchTheSources()
    {
        string a = PackedFolder("a", 1), b = PackedFolder("b", 2);
        string[] common = ["train", "--preset", "nano", "--max-steps", "3", "--seq-len", "32", "--batch-size", "2", "--samples", "0", "--data", a, b];
        var r = CliRunner.Run([.. common, "--data-weights", "0.7", "0.3", "--out", Path.Combine(_dir, "mix")]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("from 2 source(s)", r.Error);
        var bad = CliRunner.Run([.. common, "--data-weights", "1", "--out", Path.Combine(_dir, "mix2")]);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--data-weights", bad.Error);
    }

    [Fact]
    public void TokenizerLargerThanTheModelVocabulary_IsRefused()
    {
        var pieces = new List<string> { "<unk>", "<s>", "</s>" };
        pieces.AddRange(Enumerable.Range(0, 256).Select(x => $"<0x{x:X2}>"));
        pieces.AddRange(Enumerable.Range(0, 341).Select(i => "▁w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        string tokenizer = Path.Combine(_dir, "big.json");
        TinyLlama.Data.Tokenizer.LlamaTokenizer.FromVocabulary(pieces, []).Save(tokenizer);
        var r = CliRunner.Run("train", "--preset", "nano", "--tokenizer", tokenizer, "--out", Path.Combine(_dir, "big"), "--max-steps", "1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("600 tokens", r.Error);
        Assert.Contains("512", r.Error);
    }

    [Fact]
    public void ConfigFile_SetsOptions_AndFlagsWin()
    {
        string config = Path.Combine(_dir, "train.json");
        File.WriteAllText(config, "{\"preset\": \"nano\", \"max-steps\": 2, \"seq-len\": 32, \"batch-size\": 2, \"samples\": 0, \"lr\": 0.005}");
        string outDir = Path.Combine(_dir, "cfg");
        var r = CliRunner.Run("train", "--config", config, "--out", outDir, "--max-steps", "3");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("3 steps of 2 × 32 tokens, lr 0.005", r.Error);
        File.WriteAllText(config, "{\"lr\": \"fast\"}");
        var bad = CliRunner.Run("train", "--config", config, "--out", Path.Combine(_dir, "cfg2"));
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("lr", bad.Error);
    }
}

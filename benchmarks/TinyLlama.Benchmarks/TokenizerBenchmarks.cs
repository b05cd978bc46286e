using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Benchmarks;

/// <summary>
/// Llama-2 encode speed in MB/s of UTF-8 input, on English: llama-tokenizer-js's long test paragraph (Llama prose with
/// a few IPA, emoji and CJK characters) repeated to 4 MiB as 2,920 documents, and its first 256 copies joined by
/// newlines as one 368 kB document (one sequence for the merge heap; the comparator needs 15 s for it). The comparator,
/// llama-tokenizer-js under node on the same text, is <c>tools/assets/bench-llama-tokenizer-js.mjs</c>.
/// Needs the assets of <c>tools/assets/fetch-tokenizer-assets.sh</c> (or TINYLLAMA_TOKENIZER_ASSETS).
/// </summary>
[Config(typeof(TokenizerConfig))]
public class TokenizerBenchmarks
{
    public const int TargetBytes = 4 << 20;
    public const int WholeDocumentParagraphs = 256;

    LlamaTokenizer tokenizer = null!;
    string[] documents = [];
    string wholeText = "";
    readonly List<int> ids = new(2 << 20);

    [GlobalSetup]
    public void Setup()
    {
        string assets = Environment.GetEnvironmentVariable("TINYLLAMA_TOKENIZER_ASSETS") ?? FindAssets();
        tokenizer = LlamaTokenizer.Load(Path.Combine(assets, "tokenizer.json"));
        var (paragraph, expected) = LongestCase(Path.Combine(assets, "llama-tokenizer-js-cases.json"));
        (documents, wholeText) = Inputs(paragraph);

        // Validate before timing: the reference ids, and an exact round trip of the whole input.
        if (!tokenizer.Encode(paragraph).SequenceEqual(expected))
            throw new InvalidOperationException("the paragraph does not encode to llama-tokenizer-js's ids");
        if (tokenizer.Decode(tokenizer.Encode(wholeText)) != wholeText)
            throw new InvalidOperationException("the benchmark text does not round-trip");
    }

    [Benchmark(Description = "documents")]
    public int EncodeDocuments()
    {
        ids.Clear();
        foreach (string document in documents)
        {
            ids.Add(tokenizer.BosId);
            tokenizer.EncodeTo(document, ids);
        }
        return ids.Count;
    }

    [Benchmark(Description = "one document")]
    public int EncodeWhole()
    {
        ids.Clear();
        tokenizer.EncodeTo(wholeText, ids);
        return ids.Count;
    }

    // Documents: the paragraph repeated to 4 MiB; the whole text: the first 256 documents joined by newlines.
    static (string[] Documents, string Whole) Inputs(string paragraph)
    {
        var documents = Enumerable.Repeat(paragraph, TargetBytes / Encoding.UTF8.GetByteCount(paragraph)).ToArray();
        return (documents, string.Join("\n", documents.Take(WholeDocumentParagraphs)));
    }

    /// <summary>UTF-8 bytes one benchmark encodes, for the MB/s column (which runs in the host process, without setup).</summary>
    public static long InputBytes(string benchmark)
    {
        var (documents, whole) = Inputs(LongestCase(Path.Combine(
            Environment.GetEnvironmentVariable("TINYLLAMA_TOKENIZER_ASSETS") ?? FindAssets(), "llama-tokenizer-js-cases.json")).Text);
        return benchmark == nameof(EncodeWhole) ? Encoding.UTF8.GetByteCount(whole) : documents.Sum(d => (long)Encoding.UTF8.GetByteCount(d));
    }

    static (string Text, int[] Ids) LongestCase(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var longest = document.RootElement.GetProperty("encode").EnumerateArray()
            .MaxBy(c => c.GetProperty("text").GetString()!.Length);
        return (longest.GetProperty("text").GetString()!, [.. longest.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())]);
    }

    static string FindAssets()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "TinyLlama.Data.Tests", ".assets");
            if (File.Exists(Path.Combine(candidate, "tokenizer.json"))) return candidate;
        }
        throw new FileNotFoundException("tokenizer assets not found; run `bash tools/assets/fetch-tokenizer-assets.sh` first");
    }
}

/// <summary>
/// MB/s = UTF-8 input bytes / time (1 MB = 1e6 bytes), from the mean, or from the fastest iteration: on a shared
/// machine the fastest run is the one least slowed by other processes, so both are shown.
/// </summary>
public sealed class MegabytesPerSecondColumn(bool fastest) : IColumn
{
    public string Id => nameof(MegabytesPerSecondColumn) + (fastest ? "Best" : "");
    public string ColumnName => fastest ? "MB/s best" : "MB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"UTF-8 bytes of input encoded per second (1 MB = 1e6 B), {(fastest ? "fastest iteration" : "mean")}";
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        double? meanNs = fastest ? statistics?.Min : statistics?.Mean;
        long bytes = TokenizerBenchmarks.InputBytes(benchmarkCase.Descriptor.WorkloadMethod.Name);
        return meanNs is null ? "-" : (bytes / meanNs.Value * 1e3).ToString("F2"); // bytes per ns × 1e3 = MB/s
    }

    public override string ToString() => ColumnName;
}

public sealed class TokenizerConfig : ManualConfig
{
    public TokenizerConfig() => AddColumn(StatisticColumn.Min, new MegabytesPerSecondColumn(fastest: false), new MegabytesPerSecondColumn(fastest: true));
}

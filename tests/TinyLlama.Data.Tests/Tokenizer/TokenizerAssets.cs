using System.Text.Json;
using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>
/// The Llama-2 tokenizer and llama-tokenizer-js's expected ids, fetched by <c>tools/assets/fetch-tokenizer-assets.sh</c>
/// (they are not committed). Without them a test is skipped, visibly, with the command to run; under CI (CI=true)
/// it fails instead, because CI runs the fetch script first and a silent skip there would hide a broken setup.
/// </summary>
internal static class TokenizerAssets
{
    public const string FetchCommand = "bash tools/assets/fetch-tokenizer-assets.sh";

    public static string Folder { get; } = Environment.GetEnvironmentVariable("TINYLLAMA_TOKENIZER_ASSETS")
        ?? Path.Combine(RepositoryRoot(), "tests", "TinyLlama.Data.Tests", ".assets");

    public static string TokenizerJsonPath => Path.Combine(Folder, "tokenizer.json");
    public static string CasesPath => Path.Combine(Folder, "llama-tokenizer-js-cases.json");

    static readonly Lazy<LlamaTokenizer> llama2 = new(() => LlamaTokenizer.Load(TokenizerJsonPath));
    static readonly Lazy<ReferenceCases> cases = new(() => ReferenceCases.Read(CasesPath));

    /// <summary>Llama-2's tokenizer from tokenizer.json; skips (or fails under CI) when the assets are missing.</summary>
    public static LlamaTokenizer Llama2
    {
        get
        {
            Require(TokenizerJsonPath);
            return llama2.Value;
        }
    }

    public static ReferenceCases Cases
    {
        get
        {
            Require(CasesPath);
            return cases.Value;
        }
    }

    static void Require(string path)
    {
        if (File.Exists(path)) return;
        string message = $"tokenizer asset {path} is missing; run `{FetchCommand}` from the repository root";
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail($"CI=true: {message}");
        Skip.If(true, message);
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TinyLlama.Managed.sln"))) return dir.FullName;
        }
        return AppContext.BaseDirectory;
    }
}

/// <summary>An input and the ids the reference gives it (with BOS, dummy prefix).</summary>
internal sealed record EncodeCase(string Text, int[] Ids)
{
    public override string ToString() => JsonSerializer.Serialize(Text); // escaped, so control characters show
}

/// <summary>A decode-only case of llama-tokenizer-js: its flags (addBos, addPrecedingSpace) and expected text.</summary>
internal sealed record DecodeCase(int[] Ids, bool AddBos, bool AddPrecedingSpace, string Text);

/// <summary>What <c>extract-llama-cases.mjs</c> wrote: llama-tokenizer-js's own test cases and a generated corpus.</summary>
internal sealed record ReferenceCases(EncodeCase[] Encode, DecodeCase[] Decode, EncodeCase[] Generated)
{
    public IEnumerable<EncodeCase> All => Encode.Concat(Generated);

    public static ReferenceCases Read(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        EncodeCase[] ReadEncode(string name) => [.. root.GetProperty(name).EnumerateArray()
            .Select(c => new EncodeCase(c.GetProperty("text").GetString()!, Ids(c.GetProperty("ids"))))];
        var decode = root.GetProperty("decode").EnumerateArray().Select(c => new DecodeCase(Ids(c.GetProperty("ids")),
            c.GetProperty("addBos").GetBoolean(), c.GetProperty("addPrecedingSpace").GetBoolean(), c.GetProperty("text").GetString()!));
        return new ReferenceCases(ReadEncode("encode"), [.. decode], ReadEncode("generated"));
    }

    static int[] Ids(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];
}

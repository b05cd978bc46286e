using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TinyLlama.Data.Corpus;

namespace TinyLlama.Data.Tests.TokenizerTraining;

/// <summary>
/// Holds our tokenizer.json to Hugging Face's reading of it. hf-encodings.json holds the ids that HF's own
/// tokenizers library (Rust, through its npm package) produced from the file the trainer writes for
/// <see cref="CorpusVocabulary"/>; tools/corpus/hf-fixture.sh regenerates it. No Node is needed to run the test.
/// </summary>
public class HuggingFaceAgreementTests
{
    private const string FixtureOutVariable = "TINYLLAMA_BPE_FIXTURE_OUT";
    private const string FixturePath = "tests/TinyLlama.Data.Tests/TokenizerTraining/hf-encodings.json";

    private static string[] Texts() =>
    [
        EmbeddedCorpus.Documents(CorpusSplit.Validation).First()[..2000],
        "£5 café — naïve 😀 done",
        "a  b   c",
        " leading and trailing ",
        "Line one.\nLine two.\n\n\nAfter three newlines.\tTabbed.",
        "Elizabeth",
        "the",
    ];

    [Fact]
    public void Writes_inputs_for_the_fixture_when_asked()
    {
        string? dir = Environment.GetEnvironmentVariable(FixtureOutVariable);
        if (string.IsNullOrEmpty(dir))
            return; // only tools/corpus/hf-fixture.sh sets it
        CorpusVocabulary.Value.WriteTokenizerJson(Path.Combine(dir, "tokenizer.json"));
        File.WriteAllText(Path.Combine(dir, "texts.json"), JsonSerializer.Serialize(Texts()));
    }

    [Fact]
    public void Reference_encoder_gives_the_ids_hugging_face_gives()
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), FixturePath)));
        var root = fixture.RootElement;
        var vocabulary = CorpusVocabulary.Value;

        string ours = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(vocabulary.ToTokenizerJson())));
        Assert.True(ours == root.GetProperty("tokenizerJsonSha256").GetString(),
            $"the trainer's output changed (tokenizer.json sha256 {ours}); rerun tools/corpus/hf-fixture.sh");

        var encoder = new ReferenceBpeEncoder(vocabulary);
        var cases = root.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(Texts(), cases.Select(c => c.GetProperty("text").GetString()));
        foreach (var c in cases)
        {
            string text = c.GetProperty("text").GetString()!;
            int[] hfIds = [.. c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())];
            Assert.Equal(hfIds, encoder.Encode(text).Select(encoder.Id));
            Assert.Equal([1, .. hfIds], c.GetProperty("idsWithSpecialTokens").EnumerateArray().Select(i => i.GetInt32()));
            Assert.Equal(text, c.GetProperty("decoded").GetString());
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TinyLlama.Managed.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no TinyLlama.Managed.sln above {AppContext.BaseDirectory}; {FixturePath} is read from the repository");
    }
}

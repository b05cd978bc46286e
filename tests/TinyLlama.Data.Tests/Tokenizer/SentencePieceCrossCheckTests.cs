using TinyLlama.Data.Tokenizer;
using Xunit.Abstractions;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>
/// 20,000 random lines against SentencePiece itself, when <c>tools/reference/sentencepiece_check.py</c> has written its
/// ids into the assets folder (it needs Debian's python3-sentencepiece, which CI does not install, so these tests are
/// skipped rather than failed when the files are absent, CI or not).
/// </summary>
public class SentencePieceCrossCheckTests(ITestOutputHelper output)
{
    static string LinesPath => Path.Combine(TokenizerAssets.Folder, "sentencepiece-random-lines.txt");
    static string IdsPath => Path.Combine(TokenizerAssets.Folder, "sentencepiece-random-ids.txt");

    [SkippableFact]
    public void TokenizerJsonMatchesSentencePiece() => AssertMatches(TokenizerAssets.Llama2);

    [SkippableFact]
    public void TokenizerModelMatchesSentencePiece()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tinyllama-crosscheck-{Guid.NewGuid():N}.model");
        File.WriteAllBytes(path, ModelProtoWriter.Write(ModelProtoWriter.PiecesWithScoresFromMerges(TokenizerAssets.Llama2)));
        try
        {
            AssertMatches(LlamaTokenizer.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    void AssertMatches(LlamaTokenizer tokenizer)
    {
        Skip.IfNot(File.Exists(LinesPath) && File.Exists(IdsPath),
            $"SentencePiece's ids are absent; run `/usr/bin/python3 tools/reference/sentencepiece_check.py` (needs python3-sentencepiece)");
        // Split on '\n' only: the lines hold vertical tabs and form feeds, which some line readers treat as breaks.
        string[] lines = File.ReadAllText(LinesPath).Split('\n');
        string[] idLines = File.ReadAllText(IdsPath).Split('\n');
        Assert.Equal(lines.Length, idLines.Length);
        var failures = new List<string>();
        for (int i = 0; i < lines.Length - 1; i++) // the files end with a newline
        {
            int[] expected = [.. idLines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];
            int[] actual = tokenizer.Encode(lines[i], addBos: false);
            if (!actual.SequenceEqual(expected))
                failures.Add($"line {i + 1}\n  sentencepiece [{string.Join(' ', expected)}]\n  ours          [{string.Join(' ', actual)}]");
            Assert.Equal(lines[i].Replace(LlamaTokenizer.SpaceMarker, ' '), tokenizer.Decode(actual));
        }
        output.WriteLine($"{lines.Length - 1 - failures.Count} of {lines.Length - 1} lines give SentencePiece's ids");
        Assert.True(failures.Count == 0, $"{failures.Count} lines differ:\n" + string.Join('\n', failures.Take(10)));
    }
}

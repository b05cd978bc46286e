using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

/// <summary>
/// The fixtures were written by tools/reference/packed_dataset_check.py, which builds files the way lit-gpt's
/// PackedDatasetBuilder does (buffer pre-filled with sep_token 1, write_reminder at the end).
/// </summary>
public class LitGptCompatibilityTests
{
    /// <summary>The script's document stream: document d has 5 + 7d mod 11 tokens, then EOS (2).</summary>
    private static IEnumerable<int[]> Documents(int count, int vocab)
    {
        for (int d = 0; d < count; d++)
        {
            int length = 5 + d * 7 % 11;
            yield return Enumerable.Range(0, length).Select(i => (int)(((long)d * 20011 + i * 37 + 3) % vocab)).ToArray();
        }
    }

    [Theory]
    [InlineData("litgpt_u16", 32000, 40, 10, PackedDType.UInt16)]
    [InlineData("litgpt_i32", 70000, 16, 4, PackedDType.Int32)]
    public void PythonWrittenFilesReadBack(string prefix, int vocab, int chunk, int docs, PackedDType dtype)
    {
        using var ds = PackedDataset.Open(Path.Combine(PackedTestFiles.FixturesDir(), prefix + "_"));
        Assert.Equal(3, ds.Files.Count);
        Assert.Equal(chunk, ds.ChunkSize);
        Assert.Equal(dtype, ds.DType);
        var stream = Documents(docs, vocab).SelectMany(d => d.Append(2)).ToList();
        var all = new int[ds.BlockCount(chunk) * chunk];
        for (int f = 0; f < ds.Files.Count; f++)
            ds.ReadBlock(f, all.AsSpan(f * chunk, chunk));
        Assert.Equal(stream, all.Take(stream.Count));
        Assert.All(all.Skip(stream.Count), t => Assert.Equal(1, t)); // lit-gpt's sep_token fill
    }

    [Fact]
    public void KnownValuesFromThePythonSide()
    {
        // Printed by `packed_dataset_check.py read` when the fixtures were made.
        using var u16 = PackedFile.Open(Path.Combine(PackedTestFiles.FixturesDir(), "litgpt_u16_0000000001.bin"));
        var t = new int[40];
        u16.ReadTokens(0, t);
        Assert.Equal([28480, 28517, 28554, 2, 16047, 16084], t[..6]);
        Assert.Equal([24513, 24550, 2, 12080], t[^4..]);
        Assert.Equal(645707, t.Sum());
        using var i32 = PackedFile.Open(Path.Combine(PackedTestFiles.FixturesDir(), "litgpt_i32_0000000002.bin"));
        var u = new int[16];
        i32.ReadTokens(0, u);
        Assert.Equal(664065, u.Sum());
        Assert.Equal([60184, 60221, 60258], u[..3]);
    }

    [Theory]
    [InlineData("litgpt_u16", 32000, 40, 10)]
    [InlineData("litgpt_i32", 70000, 16, 4)]
    public void OurBuilderWritesTheSameBytesAsLitGpt(string prefix, int vocab, int chunk, int docs)
    {
        using var dir = new TempDir();
        var b = new PackedDatasetBuilder(dir.Path, prefix, chunk, vocab);
        foreach (var doc in Documents(docs, vocab))
            b.AddDocument(doc, eosId: 2);
        b.Finish(keepRemainder: true, padToken: 1); // what lit-gpt's write_reminder does with sep_token 1
        Assert.Equal(3, b.WrittenFiles.Count);
        foreach (var ours in b.WrittenFiles)
            Assert.Equal(File.ReadAllBytes(Path.Combine(PackedTestFiles.FixturesDir(), Path.GetFileName(ours))),
                File.ReadAllBytes(ours));
    }
}

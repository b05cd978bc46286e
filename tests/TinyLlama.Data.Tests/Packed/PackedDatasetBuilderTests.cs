using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

public class PackedDatasetBuilderTests
{
    [Fact]
    public void BytesMatchTheHandComputedLayout()
    {
        using var dir = new TempDir();
        var b = new PackedDatasetBuilder(dir.Path, "doc", chunkSize: 4, vocabSize: 32000);
        b.AddDocument([1, 258, 31999], eosId: 2);
        b.Finish();
        byte[] expected =
        [
            (byte)'L', (byte)'I', (byte)'T', (byte)'P', (byte)'K', (byte)'D', (byte)'S', // magic
            1, 0, 0, 0, 0, 0, 0, 0,     // version 1, u64 LE
            8,                          // dtype code 8 = uint16
            4, 0, 0, 0, 0, 0, 0, 0,     // chunk size 4, u64 LE
            0x01, 0x00,                 // 1
            0x02, 0x01,                 // 258
            0xFF, 0x7C,                 // 31999 = 0x7CFF
            0x02, 0x00,                 // EOS
        ];
        Assert.Equal(dir.File("doc_0000000000.bin"), Assert.Single(b.WrittenFiles));
        Assert.Equal(expected, File.ReadAllBytes(b.WrittenFiles[0]));
    }

    [Fact]
    public void Int32FilesForLargeVocabularies()
    {
        using var dir = new TempDir();
        var b = new PackedDatasetBuilder(dir.Path, "big", chunkSize: 2, vocabSize: 100_000);
        Assert.Equal(PackedDType.Int32, b.DType);
        b.Add([70_000, 99_999]);
        b.Finish();
        var bytes = File.ReadAllBytes(b.WrittenFiles[0]);
        Assert.Equal(24 + 8, bytes.Length);
        Assert.Equal(4, bytes[15]);
        Assert.Equal([0x70, 0x11, 0x01, 0x00, 0x9F, 0x86, 0x01, 0x00], bytes[24..]);
    }

    [Fact]
    public void FullChunksBecomeFilesAndTheRemainderIsDroppedByDefault()
    {
        using var dir = new TempDir();
        var b = new PackedDatasetBuilder(dir.Path, "train", chunkSize: 5, vocabSize: 100);
        b.Add([0, 1, 2]);
        b.Add([3, 4, 5, 6, 7, 8, 9, 10, 11]); // 12 tokens: two files, 2 left over
        Assert.Equal(2, b.WrittenFiles.Count);
        b.Finish();
        Assert.Equal(2, b.TokensDropped);
        Assert.Equal(0, b.TokensPadded);
        Assert.Equal(["train_0000000000.bin", "train_0000000001.bin"],
            Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var f = PackedFile.Open(b.WrittenFiles[1]);
        var t = new int[5];
        f.ReadTokens(0, t);
        Assert.Equal([5, 6, 7, 8, 9], t);
    }

    [Fact]
    public void KeptRemainderIsPaddedWithTheGivenToken()
    {
        using var dir = new TempDir();
        var b = new PackedDatasetBuilder(dir.Path, "tiny", chunkSize: 6, vocabSize: 100);
        b.AddDocument([10, 11, 12], eosId: 2);
        Assert.Throws<ArgumentException>(() => b.Finish(keepRemainder: true));
        b.Finish(keepRemainder: true, padToken: 2);
        Assert.Equal(2, b.TokensPadded);
        Assert.Equal(0, b.TokensDropped);
        using var f = PackedFile.Open(Assert.Single(b.WrittenFiles));
        var t = new int[6];
        f.ReadTokens(0, t);
        Assert.Equal([10, 11, 12, 2, 2, 2], t);
        Assert.Throws<InvalidOperationException>(() => b.Add([1]));
    }

    [Fact]
    public void BadTokensAndArgumentsAreRejected()
    {
        using var dir = new TempDir();
        var b = new PackedDatasetBuilder(dir.Path, "x", chunkSize: 4, vocabSize: 10);
        Assert.Contains("token 10 at position 1 is outside the vocabulary [0, 10)",
            Assert.Throws<ArgumentOutOfRangeException>(() => b.Add([1, 10])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Add([-1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.AddDocument([1], eosId: 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedDatasetBuilder(dir.Path, "x", 0, 10));
        Assert.Throws<ArgumentException>(() => new PackedDatasetBuilder(dir.Path, "a/b", 4, 10));
        Assert.Throws<ArgumentException>(() => new PackedDatasetBuilder(dir.Path, "x", 4, 70_000, PackedDType.UInt16));
    }

    [Fact]
    public void NeverOverwritesAndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "p", chunk: 3, files: 2);
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => f.EndsWith(".tmp", StringComparison.Ordinal));
        var again = new PackedDatasetBuilder(dir.Path, "p", chunkSize: 3, vocabSize: 100);
        var e = Assert.Throws<IOException>(() => again.Add([1, 2, 3]));
        Assert.Contains("p_0000000000.bin' already exists", e.Message);
    }
}

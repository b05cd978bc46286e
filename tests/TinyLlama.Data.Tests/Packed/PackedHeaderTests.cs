using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

public class PackedHeaderTests
{
    [Theory]
    [InlineData(PackedDType.UInt16, 2049L * 1024)]
    [InlineData(PackedDType.Int32, 7L)]
    public void HeaderRoundTrips(PackedDType dtype, long chunk)
    {
        var h = new PackedHeader(dtype, chunk);
        var bytes = new byte[24];
        h.Write(bytes);
        Assert.Equal(h, PackedHeader.Parse(bytes, h.FileLength, "x.bin"));
    }

    [Fact]
    public void TinyLlamaFileIsFourMegabytes()
    {
        // notes/tinyllama.md §3.2: 2049×1024 uint16 tokens + 24 bytes.
        Assert.Equal(4_196_376, new PackedHeader(PackedDType.UInt16, 2049 * 1024).FileLength);
        Assert.Equal(PackedDType.UInt16, PackedHeader.AutoDType(32000));
        Assert.Equal(PackedDType.UInt16, PackedHeader.AutoDType(65499));
        Assert.Equal(PackedDType.Int32, PackedHeader.AutoDType(65500));
        Assert.Equal("train_slimpajama_17_0000000042.bin", PackedHeader.FileName("train_slimpajama_17", 42));
    }

    public static TheoryData<string, byte[], ulong, byte, ulong, int, string> BadFiles => new()
    {
        { "magic.bin", "LITPKDX"u8.ToArray(), 1, 8, 4, 8, "bad magic: expected \"LITPKDS\", found \"LITPKDX\"" },
        { "version.bin", "LITPKDS"u8.ToArray(), 2, 8, 4, 8, "unsupported version 2 (expected 1)" },
        { "float.bin", "LITPKDS"u8.ToArray(), 1, 6, 4, 16, "unsupported dtype code 6 (Float32)" },
        { "unknown.bin", "LITPKDS"u8.ToArray(), 1, 9, 4, 8, "unknown dtype code 9" },
        { "zero.bin", "LITPKDS"u8.ToArray(), 1, 8, 0, 0, "chunk size is 0" },
        { "huge.bin", "LITPKDS"u8.ToArray(), 1, 8, ulong.MaxValue, 0, "chunk size 18446744073709551615 is too large" },
        { "short.bin", "LITPKDS"u8.ToArray(), 1, 8, 4, 6, "truncated: expected 32 bytes (4 UInt16 tokens + 24-byte header), found 30" },
        { "long.bin", "LITPKDS"u8.ToArray(), 1, 8, 4, 10, "trailing data: expected 32 bytes (4 UInt16 tokens + 24-byte header), found 34" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadHeaderIsAClearError(string name, byte[] magic, ulong version, byte code, ulong chunk, int body, string message)
    {
        using var dir = new TempDir();
        string path = PackedTestFiles.WriteRaw(dir.File(name), magic, version, code, chunk, body);
        var e = Assert.Throws<InvalidDataException>(() => PackedFile.Open(path));
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
        // The dataset checks every header when it opens, with the same message.
        var e2 = Assert.Throws<InvalidDataException>(() => PackedDataset.Open(path));
        Assert.Contains(message, e2.Message);
    }

    [Fact]
    public void EmptyAndHeaderlessFilesAreClearErrors()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("empty.bin"), []);
        File.WriteAllBytes(dir.File("stub.bin"), "LITPKDS\x01"u8.ToArray());
        Assert.Contains("empty file (0 bytes)", Assert.Throws<InvalidDataException>(() => PackedFile.Open(dir.File("empty.bin"))).Message);
        Assert.Contains("truncated: expected at least a 24-byte header, found 8 bytes",
            Assert.Throws<InvalidDataException>(() => PackedFile.Open(dir.File("stub.bin"))).Message);
        Assert.Throws<FileNotFoundException>(() => PackedFile.Open(dir.File("missing.bin")));
    }

    [Fact]
    public void ReadTokensChecksItsRange()
    {
        using var dir = new TempDir();
        var files = PackedTestFiles.WriteCounting(dir.Path, "t", chunk: 10, files: 1);
        using var f = PackedFile.Open(files[0]);
        var dest = new int[4];
        f.ReadTokens(6, dest);
        Assert.Equal([6, 7, 8, 9], dest);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.ReadTokens(7, dest));
        Assert.Throws<ArgumentOutOfRangeException>(() => f.ReadTokens(-1, dest));
    }
}

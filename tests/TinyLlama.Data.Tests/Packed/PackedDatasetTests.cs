using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

public class PackedDatasetTests
{
    [Fact]
    public void BlocksNeverCrossFiles()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "d", chunk: 10, files: 3); // token i of the stream is i
        using var ds = PackedDataset.Open(dir.Path);
        Assert.Equal(3, ds.Files.Count);
        Assert.Equal(3, ds.BlocksPerFile(3));
        Assert.Equal(9, ds.BlockCount(3)); // floor(10/3) per file: the 10th token of each file is unused
        var block = new int[3];
        var firsts = new List<int>();
        for (int i = 0; i < 9; i++)
        {
            ds.ReadBlock(i, block);
            Assert.Equal(block[0] / 10, block[2] / 10); // same file
            Assert.Equal([block[0], block[0] + 1, block[0] + 2], block);
            firsts.Add(block[0]);
        }
        Assert.Equal([0, 3, 6, 10, 13, 16, 20, 23, 26], firsts);
        Assert.Equal(1, ds.BlockCount(10) / 3);
        Assert.Equal(0, ds.BlockCount(11));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.ReadBlock(9, block));
    }

    [Fact]
    public void OpensFoldersGlobsPrefixesAndSortsNames()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "train_b", chunk: 4, files: 2);
        PackedTestFiles.WriteCounting(dir.Path, "train_a", chunk: 4, files: 1);
        PackedTestFiles.WriteCounting(dir.Path, "valid", chunk: 4, files: 1);
        File.WriteAllText(dir.File("notes.txt"), "not a packed file");
        using var all = PackedDataset.Open(dir.Path);
        Assert.Equal(["train_a_0000000000.bin", "train_b_0000000000.bin", "train_b_0000000001.bin", "valid_0000000000.bin"],
            all.Files.Select(Path.GetFileName));
        using var prefix = PackedDataset.Open(dir.File("train_"));
        Assert.Equal(3, prefix.Files.Count);
        using var glob = PackedDataset.Open(dir.File("train_b_*.bin"));
        Assert.Equal(2, glob.Files.Count);
        using var one = PackedDataset.Open(dir.File("valid_0000000000.bin"));
        Assert.Single(one.Files);
    }

    [Fact]
    public void MissingOrEmptyDataIsAClearError()
    {
        using var dir = new TempDir();
        Assert.Contains($"no packed token files (*.bin) found in '{dir.Path}'",
            Assert.Throws<InvalidDataException>(() => PackedDataset.Open(dir.Path)).Message);
        Assert.Contains("no packed token files",
            Assert.Throws<InvalidDataException>(() => PackedDataset.Open(dir.File("train_"))).Message);
        Assert.Throws<DirectoryNotFoundException>(() => PackedDataset.Open(dir.File("nowhere/train_")));
    }

    [Fact]
    public void MismatchedChunkSizesAreRejected()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "a", chunk: 8, files: 1);
        PackedTestFiles.WriteCounting(dir.Path, "b", chunk: 6, files: 1);
        var e = Assert.Throws<InvalidDataException>(() => PackedDataset.Open(dir.Path));
        Assert.Contains("b_0000000000.bin' has chunk size 6 of UInt16", e.Message);
        Assert.Contains("has 8 of UInt16", e.Message);
    }

    [Fact]
    public void ManyFilesStayWithinTheOpenFileBound()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "m", chunk: 2, files: 100);
        using var ds = PackedDataset.Open(dir.Path);
        var block = new int[2];
        for (int round = 0; round < 2; round++)
            for (int i = 0; i < 100; i++)
            {
                ds.ReadBlock(i, block);
                Assert.Equal([2 * i, 2 * i + 1], block);
            }
    }
}

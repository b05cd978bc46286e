using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

public class PackedDataLoaderTests
{
    [Fact]
    public void TargetsAreInputsShiftedByOne()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "c", chunk: 20, files: 3); // token i of the stream is i
        using var ds = PackedDataset.Open(dir.Path);
        var loader = new PackedDataLoader(ds, seqLen: 4, microBatchSize: 2, seed: 1);
        Assert.Equal(12, loader.Sampler.GetState().SourceBlocks[0]); // 4 blocks of 5 per file
        var x = new int[8];
        var y = new int[8];
        var seen = new HashSet<int>();
        for (int step = 0; step < 6; step++)
        {
            loader.NextBatch(x, y);
            for (int b = 0; b < 2; b++)
            {
                int start = x[b * 4];
                Assert.Equal(0, start % 20 % 5); // blocks start at multiples of 5 within a file
                Assert.Equal(Enumerable.Range(start, 4), x[(b * 4)..(b * 4 + 4)]);
                Assert.Equal(Enumerable.Range(start + 1, 4), y[(b * 4)..(b * 4 + 4)]);
                Assert.True(seen.Add(start));
            }
        }
        Assert.Equal(12, seen.Count); // one epoch, every block once
    }

    [Fact]
    public void ResumeGivesTheSameBatchesAsAnUninterruptedRun()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "a", chunk: 33, files: 4);
        PackedTestFiles.WriteCounting(dir.Path, "b", chunk: 33, files: 2, vocab: 30000);
        using var a = PackedDataset.Open(dir.File("a_"));
        using var b = PackedDataset.Open(dir.File("b_"));
        PackedDataLoader Make() => new([a, b], [0.7, 0.3], seqLen: 7, microBatchSize: 3, seed: 3407, rank: 1, worldSize: 2);
        var run = Make();
        var batches = new List<int[]>();
        string? saved = null;
        var x = new int[21];
        var y = new int[21];
        for (int step = 1; step <= 50; step++)
        {
            run.NextBatch(x, y);
            batches.Add([.. x, .. y]);
            if (step == 20) saved = run.GetState().ToJson();
        }
        var resumed = Make();
        resumed.SetState(SamplerState.FromJson(saved!));
        for (int step = 21; step <= 50; step++)
        {
            resumed.NextBatch(x, y);
            Assert.Equal(batches[step - 1], (int[])[.. x, .. y]);
        }
    }

    [Fact]
    public void TinyLlamaSizedFileHolds1024TrainingBlocks()
    {
        using var dir = new TempDir();
        var files = PackedTestFiles.WriteCounting(dir.Path, "train_slimpajama_0", chunk: 2049 * 1024, files: 1);
        Assert.Equal(4_196_376, new FileInfo(files[0]).Length);
        using var ds = PackedDataset.Open(dir.File("train_slimpajama"));
        var loader = new PackedDataLoader(ds, seqLen: 2048, microBatchSize: 2, seed: 3407, rank: 3, worldSize: 16);
        Assert.Equal(1024, loader.GetState().SourceBlocks[0]);
        var x = new int[2 * 2048];
        var y = new int[2 * 2048];
        loader.NextBatch(x, y);
        Assert.Equal((x[2047] + 1) % 32000, y[2047]);
        Assert.Equal(loader.LastBlocks[0].Block * 2049 % 32000, x[0]); // token i of the stream is i mod 32000
    }

    [Fact]
    public void ChunksSmallerThanABlockAreAClearError()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "s", chunk: 8, files: 2);
        using var ds = PackedDataset.Open(dir.Path);
        var e = Assert.Throws<InvalidDataException>(() => new PackedDataLoader(ds, seqLen: 8, microBatchSize: 1, seed: 1));
        Assert.Contains($"dataset '{dir.Path}' has no block of 9 tokens (seq_len 8 + 1)", e.Message);
        Assert.Contains("2 file(s) hold chunks of 8 tokens", e.Message);
    }

    [Fact]
    public void WrongBufferSizesAreRefused()
    {
        using var dir = new TempDir();
        PackedTestFiles.WriteCounting(dir.Path, "s", chunk: 8, files: 1);
        using var ds = PackedDataset.Open(dir.Path);
        var loader = new PackedDataLoader(ds, seqLen: 3, microBatchSize: 2, seed: 1);
        Assert.Throws<ArgumentException>(() => loader.NextBatch(new int[6], new int[5]));
    }
}

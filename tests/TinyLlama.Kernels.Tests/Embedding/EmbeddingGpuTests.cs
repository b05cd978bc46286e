using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class EmbeddingGpuTests(CpuAcceleratorFixture gpu)
{
    const int Vocab = 11;

    // Many repeats of few ids: duplicates must accumulate.
    static int[] Ids(int n, int seed) => RandomData.Ints(n, seed, 5).Select(i => i * 2).ToArray();

    [Fact]
    public void ForwardF32GathersTheRows()
    {
        const int channels = 37;
        float[] table = RandomData.Array<float>(Vocab * channels, 1);
        int[] ids = Ids(9, 2);
        var expected = new float[ids.Length * channels];
        Kernels.Embedding.ForwardReference<float>(table, ids, expected, Vocab, channels);
        using var t = gpu.Upload<float>(table);
        using var i = gpu.Upload<int>(ids);
        using var o = gpu.Poisoned<float>(expected.Length);
        gpu.Kernels.Get<EmbeddingGpu>().Forward(gpu.Stream, t.View, i.View, o.View, Vocab, channels);
        Assert.Equal(expected, gpu.Download(o));
    }

    [Fact]
    public void ForwardBf16GathersTheRowsBitForBit()
    {
        const int channels = 300; // more channels than threads in a group
        var (table, _) = Bf16Data.Array(Vocab * channels, 3);
        int[] ids = Ids(5, 4);
        using var t = gpu.Upload<ushort>(table);
        using var i = gpu.Upload<int>(ids);
        using var o = gpu.Poisoned<ushort>(ids.Length * channels);
        gpu.Kernels.Get<EmbeddingGpu>().Forward(gpu.Stream, t.View, i.View, o.View, Vocab, channels);
        ushort[] actual = gpu.Download(o);
        for (int r = 0; r < ids.Length; r++)
            Assert.Equal(table.AsSpan(ids[r] * channels, channels).ToArray(), actual.AsSpan(r * channels, channels).ToArray());
    }

    [Fact]
    public void ForwardWritesNaNForAnOutOfRangeIdAndTouchesNothingElse()
    {
        const int channels = 7;
        float[] table = RandomData.Array<float>(Vocab * channels, 5);
        int[] ids = [3, Vocab, -1, 4];
        using var t = gpu.Upload<float>(table);
        using var i = gpu.Upload<int>(ids);
        using var o = gpu.Poisoned<float>(ids.Length * channels);
        gpu.Kernels.Get<EmbeddingGpu>().Forward(gpu.Stream, t.View, i.View, o.View, Vocab, channels);
        float[] actual = gpu.Download(o);
        Assert.Equal(table.AsSpan(3 * channels, channels).ToArray(), actual.AsSpan(0, channels).ToArray());
        Assert.All(actual.AsSpan(channels, 2 * channels).ToArray(), x => Assert.True(float.IsNaN(x)));
        Assert.Equal(table.AsSpan(4 * channels, channels).ToArray(), actual.AsSpan(3 * channels, channels).ToArray());
    }

    [Fact]
    public void BackwardF32AccumulatesDuplicateIdsDeterministically()
    {
        const int channels = 300; // two channel blocks × two partitions
        int[] ids = Ids(23, 6);
        float[] dOut = RandomData.Array<float>(ids.Length * channels, 7);
        float[] dTable = RandomData.Array<float>(Vocab * channels, 8);
        float[] expected = (float[])dTable.Clone();
        Kernels.Embedding.BackwardReference<float>(dOut, ids, expected, Vocab, channels);
        var first = RunBackward(dOut, ids, dTable, channels);
        AssertClose.All<float>(expected, first, AssertClose.Reduction<float>(), "Embedding backward f32");
        var second = RunBackward(dOut, ids, dTable, channels);
        Assert.Equal(first.Select(BitConverter.SingleToUInt32Bits), second.Select(BitConverter.SingleToUInt32Bits));
    }

    float[] RunBackward(float[] dOut, int[] ids, float[] dTable, int channels)
    {
        using var d = gpu.Upload<float>(dOut);
        using var i = gpu.Upload<int>(ids);
        using var t = gpu.Upload<float>(dTable);
        gpu.Kernels.Get<EmbeddingGpu>().Backward(gpu.Stream, d.View, i.View, t.View, Vocab, channels);
        return gpu.Download(t);
    }

    [Fact]
    public void BackwardBf16AccumulatesIntoBf16AndF32Tables()
    {
        const int channels = 45;
        int[] ids = Ids(17, 9);
        var (dOut, dOutValues) = Bf16Data.Array(ids.Length * channels, 10);
        var (dTable, dTableValues) = Bf16Data.Array(Vocab * channels, 11);
        float[] expected = (float[])dTableValues.Clone();
        Kernels.Embedding.BackwardReference<float>(dOutValues, ids, expected, Vocab, channels);

        using var d = gpu.Upload<ushort>(dOut);
        using var i = gpu.Upload<int>(ids);
        using var tb = gpu.Upload<ushort>(dTable);
        using var tf = gpu.Upload<float>(dTableValues);
        var embedding = gpu.Kernels.Get<EmbeddingGpu>();
        embedding.Backward(gpu.Stream, d.View, i.View, tb.View, Vocab, channels);
        embedding.Backward(gpu.Stream, d.View, i.View, tf.View, Vocab, channels);
        AssertClose.All<float>(expected, Bf16Data.Widen(gpu.Download(tb)), Bf16Data.Tolerance, "Embedding backward bf16 → bf16");
        AssertClose.All<float>(expected, gpu.Download(tf), AssertClose.Reduction<float>(), "Embedding backward bf16 → f32");
    }

    [Fact]
    public void BackwardSkipsOutOfRangeIds()
    {
        const int channels = 9;
        int[] ids = [2, 99, 2, -5, 4];
        float[] dOut = RandomData.Array<float>(ids.Length * channels, 12);
        float[] dTable = RandomData.Array<float>(Vocab * channels, 13);
        float[] expected = (float[])dTable.Clone();
        int[] valid = [2, 2, 4];
        float[] validOut = [.. dOut.AsSpan(0, channels), .. dOut.AsSpan(2 * channels, channels), .. dOut.AsSpan(4 * channels, channels)];
        Kernels.Embedding.BackwardReference<float>(validOut, valid, expected, Vocab, channels);
        AssertClose.All<float>(expected, RunBackward(dOut, ids, dTable, channels), AssertClose.Reduction<float>(), "Embedding backward, bad ids skipped");
    }

    [Fact]
    public void WrongLengthsAreRefusedBeforeLaunch()
    {
        using var t = gpu.Upload<float>(new float[Vocab * 4]);
        using var i = gpu.Upload<int>(new int[3]);
        using var o = gpu.Poisoned<float>(11);
        var embedding = gpu.Kernels.Get<EmbeddingGpu>();
        var e1 = Assert.Throws<ArgumentException>(() => embedding.Forward(gpu.Stream, t.View, i.View, o.View, Vocab, 4));
        Assert.Contains("output has 11 elements", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => embedding.Backward(gpu.Stream, o.View, i.View, t.View, Vocab + 1, 4));
        Assert.Contains("dTable has 44 elements", e2.Message);
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Forward(gpu.Stream, t.View, i.View, o.View, Vocab, 0));
        Assert.Contains("channels", e3.Message);
    }
}

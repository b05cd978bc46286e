using TinyLlama.Kernels.Tests.Cuda;
using static TinyLlama.Kernels.Tests.GpuTestData;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class RopeGpuTests(CpuAcceleratorFixture gpu)
{
    const int MaxT = 9;

    static (float[] Cos, float[] Sin) Tables(int headSize)
    {
        var (cos, sin) = (new float[MaxT * headSize / 2], new float[MaxT * headSize / 2]);
        Rope.Tables<float>(MaxT, headSize, 10000.0, cos, sin);
        return (cos, sin);
    }

    static double[] Reference(float[] x, int batch, int seqLen, int heads, int headSize, float[] cos, float[] sin, int startPos, bool inverse)
    {
        var y = new double[x.Length];
        if (inverse) Rope.BackwardReference<double>(ToDouble(x), y, batch, seqLen, heads, headSize, ToDouble(cos), ToDouble(sin), startPos);
        else Rope.ForwardReference<double>(ToDouble(x), y, batch, seqLen, heads, headSize, ToDouble(cos), ToDouble(sin), startPos);
        return y;
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, false, false)]
    [InlineData(true, true, true)]
    [InlineData(false, false, true)]
    [InlineData(true, true, false)]
    public void ForwardAndBackwardMatchTheReference(bool inverse, bool inPlace, bool bf16)
    {
        const int batch = 2, seqLen = 3, heads = 3, headSize = 14, startPos = 4;
        int n = batch * seqLen * heads * headSize;
        var (cos, sin) = Tables(headSize);
        float[] x = Stored(RandomData.Array<float>(n, 1, 2), bf16);
        double[] expected = Reference(x, batch, seqLen, heads, headSize, cos, sin, startPos, inverse);

        var rope = gpu.Kernels.Get<RopeGpu>();
        using var bc = gpu.Upload<float>(cos);
        using var bs = gpu.Upload<float>(sin);
        float[] y;
        if (bf16)
        {
            using var bx = gpu.Upload<ushort>(ToBf16(x));
            using var by = gpu.Poisoned<ushort>(n);
            ILGPU.ArrayView<ushort> output = inPlace ? bx.View : by.View;
            if (inverse) rope.Backward(gpu.Stream, bx.View, output, batch, seqLen, heads, headSize, bc.View, bs.View, startPos);
            else rope.Forward(gpu.Stream, bx.View, output, batch, seqLen, heads, headSize, bc.View, bs.View, startPos);
            y = Widen(gpu.Download(output));
        }
        else
        {
            using var bx = gpu.Upload<float>(x);
            using var by = gpu.Poisoned<float>(n);
            ILGPU.ArrayView<float> output = inPlace ? bx.View : by.View;
            if (inverse) rope.Backward(gpu.Stream, bx.View, output, batch, seqLen, heads, headSize, bc.View, bs.View, startPos);
            else rope.Forward(gpu.Stream, bx.View, output, batch, seqLen, heads, headSize, bc.View, bs.View, startPos);
            y = gpu.Download(output);
        }
        Close(expected, y, bf16, reduction: false, inverse ? "Rope backward" : "Rope forward");
    }

    // Grouped-query attention: q has 4 heads, k 2; both are rotated in place by one launch. 1980 pairs are more
    // than the 512 threads of the test grid, so the grid-stride loop crosses from q to k mid-stride.
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void QueryAndKeyInPlaceMatchTheReference(bool inverse, bool bf16)
    {
        const int batch = 2, seqLen = 5, heads = 4, kvHeads = 2, headSize = 66, startPos = 1;
        var (cos, sin) = Tables(headSize);
        float[] q = Stored(RandomData.Array<float>(batch * seqLen * heads * headSize, 3), bf16);
        float[] k = Stored(RandomData.Array<float>(batch * seqLen * kvHeads * headSize, 4), bf16);
        double[] qRef = Reference(q, batch, seqLen, heads, headSize, cos, sin, startPos, inverse);
        double[] kRef = Reference(k, batch, seqLen, kvHeads, headSize, cos, sin, startPos, inverse);

        var rope = gpu.Kernels.Get<RopeGpu>();
        using var bc = gpu.Upload<float>(cos);
        using var bs = gpu.Upload<float>(sin);
        float[] qOut, kOut;
        if (bf16)
        {
            using var bq = gpu.Upload<ushort>(ToBf16(q));
            using var bk = gpu.Upload<ushort>(ToBf16(k));
            rope.ApplyInPlace(gpu.Stream, bq.View, bk.View, batch, seqLen, heads, kvHeads, headSize, bc.View, bs.View, startPos, inverse);
            (qOut, kOut) = (Widen(gpu.Download(bq)), Widen(gpu.Download(bk)));
        }
        else
        {
            using var bq = gpu.Upload<float>(q);
            using var bk = gpu.Upload<float>(k);
            rope.ApplyInPlace(gpu.Stream, bq.View, bk.View, batch, seqLen, heads, kvHeads, headSize, bc.View, bs.View, startPos, inverse);
            (qOut, kOut) = (gpu.Download(bq), gpu.Download(bk));
        }
        Close(qRef, qOut, bf16, reduction: false, "Rope q");
        Close(kRef, kOut, bf16, reduction: false, "Rope k");
    }

    [Fact]
    public void WrongLengthsAreRefusedBeforeLaunch()
    {
        var rope = gpu.Kernels.Get<RopeGpu>();
        var (cos, sin) = Tables(4);
        using var bc = gpu.Upload<float>(cos);
        using var bs = gpu.Upload<float>(sin);
        using var x = gpu.Upload<float>(new float[2 * 3 * 4]);
        using var shortY = gpu.Poisoned<float>(20);
        using var k = gpu.Upload<float>(new float[2 * 3 * 4]);

        var e = Assert.Throws<ArgumentException>(() => rope.Forward(gpu.Stream, x.View, shortY.View, 2, 3, 1, 4, bc.View, bs.View, 0));
        Assert.Contains("RopeGpu.Forward: y has 20 elements, expected batch·seqLen·heads·headSize = 24", e.Message);
        e = Assert.Throws<ArgumentException>(() => rope.Forward(gpu.Stream, x.View, x.View, 2, 3, 1, 4, bc.View, bs.View, 7));
        Assert.Contains("cos has 18 elements, expected at least (startPos+seqLen)·headSize/2 = 20", e.Message);
        e = Assert.Throws<ArgumentException>(() => rope.ApplyInPlace(gpu.Stream, x.View, k.View, 2, 3, 1, 2, 4, bc.View, bs.View, 0));
        Assert.Contains("RopeGpu.ApplyInPlace: k has 24 elements, expected batch·seqLen·heads·headSize = 48", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.Forward(gpu.Stream, x.View, x.View, 2, 3, 2, 3, bc.View, bs.View, 0));
    }
}

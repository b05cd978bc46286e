using TinyLlama.Kernels.Tests.Cuda;
using static TinyLlama.Kernels.Tests.GpuTestData;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class RmsNormGpuTests(CpuAcceleratorFixture gpu)
{
    const float Eps = 1e-5f;

    // The launcher runs 64-thread groups on the CPU accelerator: cols 300 > 4·64 takes the unrolled loops; rows 5 > 2
    // groups makes backward walk rows with its grid stride.
    [Theory]
    [InlineData(3, 37, false)]
    [InlineData(3, 37, true)]
    [InlineData(5, 70, false)]
    [InlineData(5, 70, true)]
    [InlineData(2, 300, false)]
    [InlineData(2, 300, true)]
    public void ForwardAndBackwardMatchTheReference(int rows, int cols, bool bf16) =>
        Check(gpu.Kernels.Get<RmsNormGpu>(), rows, cols, bf16);

    // The group size the GPU runs (256 threads, 8 warps in the reduction); 1100 > 4·256 takes the unrolled loop.
    [Fact]
    public void TheGpuGroupSizeMatchesTheReference() =>
        Check(new RmsNormGpu(gpu.Accelerator, RmsNormGpu.GpuGroupSize), 3, 1100, bf16: false);

    void Check(RmsNormGpu rms, int rows, int cols, bool bf16)
    {
        float[] x = Stored(RandomData.Array<float>(rows * cols, 1, 2), bf16);
        float[] w = Stored(RandomData.Array<float>(cols, 2), bf16);
        float[] dy = Stored(RandomData.Array<float>(rows * cols, 3), bf16);
        float[] dw0 = Stored(RandomData.Array<float>(cols, 4), bf16); // non-zero: dWeight accumulates (+=)

        var (yRef, invRef) = (new double[rows * cols], new double[rows]);
        RmsNorm.ForwardReference<double>(ToDouble(x), ToDouble(w), yRef, invRef, rows, cols, Eps);
        var (dxRef, dwRef) = (new double[rows * cols], ToDouble(dw0));
        RmsNorm.BackwardReference<double>(ToDouble(dy), ToDouble(x), ToDouble(w), invRef, dxRef, dwRef, rows, cols);

        using var inv = gpu.Poisoned<float>(rows);
        using var scratch = gpu.Poisoned<float>((int)rms.BackwardScratchLength(rows, cols));
        float[] y, dx, dw;
        if (bf16)
        {
            using var bx = gpu.Upload<ushort>(ToBf16(x));
            using var bw = gpu.Upload<ushort>(ToBf16(w));
            using var bdy = gpu.Upload<ushort>(ToBf16(dy));
            using var bdw = gpu.Upload<ushort>(ToBf16(dw0));
            using var by = gpu.Poisoned<ushort>(rows * cols);
            using var bdx = gpu.Poisoned<ushort>(rows * cols);
            rms.Forward(gpu.Stream, bx.View, bw.View, by.View, inv.View, rows, cols, Eps);
            rms.Backward(gpu.Stream, bdy.View, bx.View, bw.View, inv.View, bdx.View, bdw.View, scratch.View, rows, cols);
            (y, dx, dw) = (Widen(gpu.Download(by)), Widen(gpu.Download(bdx)), Widen(gpu.Download(bdw)));
        }
        else
        {
            using var bx = gpu.Upload<float>(x);
            using var bw = gpu.Upload<float>(w);
            using var bdy = gpu.Upload<float>(dy);
            using var bdw = gpu.Upload<float>(dw0);
            using var by = gpu.Poisoned<float>(rows * cols);
            using var bdx = gpu.Poisoned<float>(rows * cols);
            rms.Forward(gpu.Stream, bx.View, bw.View, by.View, inv.View, rows, cols, Eps);
            rms.Backward(gpu.Stream, bdy.View, bx.View, bw.View, inv.View, bdx.View, bdw.View, scratch.View, rows, cols);
            (y, dx, dw) = (gpu.Download(by), gpu.Download(bdx), gpu.Download(bdw));
        }
        Close(yRef, y, bf16, reduction: true, "RmsNorm y");
        // invRms is f32 whatever the storage: the reduction tolerance holds for bf16 inputs too.
        Close(invRef, gpu.Download(inv), bf16: false, reduction: true, "RmsNorm invRms");
        Close(dxRef, dx, bf16, reduction: true, "RmsNorm dx");
        Close(dwRef, dw, bf16, reduction: true, "RmsNorm dWeight");
    }

    // dWeight is summed from per-group partials in a fixed order, never with atomics: two runs agree bit for bit.
    [Fact]
    public void BackwardIsDeterministic()
    {
        const int rows = 7, cols = 45;
        var rms = gpu.Kernels.Get<RmsNormGpu>();
        using var x = gpu.Upload<float>(RandomData.Array<float>(rows * cols, 11));
        using var w = gpu.Upload<float>(RandomData.Array<float>(cols, 12));
        using var dy = gpu.Upload<float>(RandomData.Array<float>(rows * cols, 13));
        using var y = gpu.Poisoned<float>(rows * cols);
        using var inv = gpu.Poisoned<float>(rows);
        using var dx = gpu.Poisoned<float>(rows * cols);
        using var scratch = gpu.Poisoned<float>((int)rms.BackwardScratchLength(rows, cols));
        rms.Forward(gpu.Stream, x.View, w.View, y.View, inv.View, rows, cols, Eps);
        uint[] Run()
        {
            using var dw = gpu.Upload<float>(new float[cols]);
            rms.Backward(gpu.Stream, dy.View, x.View, w.View, inv.View, dx.View, dw.View, scratch.View, rows, cols);
            return gpu.Download(dw).Select(BitConverter.SingleToUInt32Bits).ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void WrongLengthsAreRefusedBeforeLaunch()
    {
        var rms = gpu.Kernels.Get<RmsNormGpu>();
        using var x = gpu.Upload<float>(new float[12]);
        using var w = gpu.Upload<float>(new float[4]);
        using var shortY = gpu.Poisoned<float>(10);
        using var inv = gpu.Poisoned<float>(3);
        using var shortInv = gpu.Poisoned<float>(2);
        using var dx = gpu.Poisoned<float>(12);
        using var dw = gpu.Poisoned<float>(4);
        using var shortScratch = gpu.Poisoned<float>(1);

        var e = Assert.Throws<ArgumentException>(() => rms.Forward(gpu.Stream, x.View, w.View, shortY.View, inv.View, 3, 4, Eps));
        Assert.Contains("RmsNormGpu.Forward: y has 10 elements, expected rows·cols = 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => rms.Forward(gpu.Stream, x.View, w.View, dx.View, shortInv.View, 3, 4, Eps));
        Assert.Contains("invRms has 2 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => rms.Backward(gpu.Stream, x.View, x.View, w.View, inv.View, shortY.View, dw.View, shortScratch.View, 3, 4));
        Assert.Contains("dx has 10 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => rms.Backward(gpu.Stream, x.View, x.View, w.View, inv.View, dx.View, dw.View, shortScratch.View, 3, 4));
        Assert.Contains("scratch has 1 elements", e.Message);
        Assert.Equal("scratch", e.ParamName);
    }
}

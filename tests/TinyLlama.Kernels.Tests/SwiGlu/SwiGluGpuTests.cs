using TinyLlama.Kernels.Tests.Cuda;
using static TinyLlama.Kernels.Tests.GpuTestData;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class SwiGluGpuTests(CpuAcceleratorFixture gpu)
{
    // 1237 elements: more than the 512 threads of the test grid (the grid-stride loop turns), odd.
    const int N = 1237;

    // Gates up to ±8 plus the far tails, where exp(−|x|) underflows: σ must stay finite and SiLU → 0 or x.
    static float[] Gates(bool bf16)
    {
        float[] g = RandomData.Array<float>(N, 1, 8);
        (g[0], g[1], g[2], g[3]) = (-90f, 90f, -30f, 30f);
        return Stored(g, bf16);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SwiGluForwardAndBackwardMatchTheReference(bool bf16)
    {
        float[] gate = Gates(bf16), up = Stored(RandomData.Array<float>(N, 2, 2), bf16), dy = Stored(RandomData.Array<float>(N, 3), bf16);
        var yRef = new double[N];
        SwiGlu.ForwardReference<double>(ToDouble(gate), ToDouble(up), yRef);
        var (dgRef, duRef) = (new double[N], new double[N]);
        SwiGlu.BackwardReference<double>(ToDouble(gate), ToDouble(up), ToDouble(dy), dgRef, duRef);

        var swiglu = gpu.Kernels.Get<SwiGluGpu>();
        float[] y, dg, du;
        if (bf16)
        {
            using var bg = gpu.Upload<ushort>(ToBf16(gate));
            using var bu = gpu.Upload<ushort>(ToBf16(up));
            using var bdy = gpu.Upload<ushort>(ToBf16(dy));
            using var by = gpu.Poisoned<ushort>(N);
            using var bdg = gpu.Poisoned<ushort>(N);
            using var bdu = gpu.Poisoned<ushort>(N);
            swiglu.Forward(gpu.Stream, bg.View, bu.View, by.View);
            swiglu.Backward(gpu.Stream, bg.View, bu.View, bdy.View, bdg.View, bdu.View);
            (y, dg, du) = (Widen(gpu.Download(by)), Widen(gpu.Download(bdg)), Widen(gpu.Download(bdu)));
        }
        else
        {
            using var bg = gpu.Upload<float>(gate);
            using var bu = gpu.Upload<float>(up);
            using var bdy = gpu.Upload<float>(dy);
            using var by = gpu.Poisoned<float>(N);
            using var bdg = gpu.Poisoned<float>(N);
            using var bdu = gpu.Poisoned<float>(N);
            swiglu.Forward(gpu.Stream, bg.View, bu.View, by.View);
            swiglu.Backward(gpu.Stream, bg.View, bu.View, bdy.View, bdg.View, bdu.View);
            (y, dg, du) = (gpu.Download(by), gpu.Download(bdg), gpu.Download(bdu));
        }
        Close(yRef, y, bf16, reduction: false, "SwiGLU y");
        Close(dgRef, dg, bf16, reduction: false, "SwiGLU dGate");
        Close(duRef, du, bf16, reduction: false, "SwiGLU dUp");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SiluForwardAndBackwardMatchTheReference(bool bf16)
    {
        float[] x = Gates(bf16), dy = Stored(RandomData.Array<float>(N, 4), bf16);
        var (yRef, dxRef) = (new double[N], new double[N]);
        SwiGlu.SiluForwardReference<double>(ToDouble(x), yRef);
        SwiGlu.SiluBackwardReference<double>(ToDouble(x), ToDouble(dy), dxRef);

        var swiglu = gpu.Kernels.Get<SwiGluGpu>();
        float[] y, dx;
        if (bf16)
        {
            using var bx = gpu.Upload<ushort>(ToBf16(x));
            using var bdy = gpu.Upload<ushort>(ToBf16(dy));
            using var by = gpu.Poisoned<ushort>(N);
            using var bdx = gpu.Poisoned<ushort>(N);
            swiglu.SiluForward(gpu.Stream, bx.View, by.View);
            swiglu.SiluBackward(gpu.Stream, bx.View, bdy.View, bdx.View);
            (y, dx) = (Widen(gpu.Download(by)), Widen(gpu.Download(bdx)));
        }
        else
        {
            using var bx = gpu.Upload<float>(x);
            using var bdy = gpu.Upload<float>(dy);
            using var by = gpu.Poisoned<float>(N);
            using var bdx = gpu.Poisoned<float>(N);
            swiglu.SiluForward(gpu.Stream, bx.View, by.View);
            swiglu.SiluBackward(gpu.Stream, bx.View, bdy.View, bdx.View);
            (y, dx) = (gpu.Download(by), gpu.Download(bdx));
        }
        Close(yRef, y, bf16, reduction: false, "SiLU y");
        Close(dxRef, dx, bf16, reduction: false, "SiLU dx");
    }

    [Fact]
    public void WrongLengthsAreRefusedBeforeLaunch()
    {
        var swiglu = gpu.Kernels.Get<SwiGluGpu>();
        using var a = gpu.Upload<float>(new float[6]);
        using var b = gpu.Poisoned<float>(5);
        var e = Assert.Throws<ArgumentException>(() => swiglu.Forward(gpu.Stream, a.View, b.View, a.View));
        Assert.Contains("SwiGluGpu.Forward: up has 5 elements, expected gate.Length = 6", e.Message);
        e = Assert.Throws<ArgumentException>(() => swiglu.Backward(gpu.Stream, a.View, a.View, a.View, a.View, b.View));
        Assert.Contains("SwiGluGpu.Backward: dUp has 5 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => swiglu.SiluForward(gpu.Stream, a.View, b.View));
        Assert.Contains("SwiGluGpu.SiluForward: y has 5 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => swiglu.SiluBackward(gpu.Stream, a.View, b.View, a.View));
        Assert.Contains("SwiGluGpu.SiluBackward: dy has 5 elements", e.Message);
    }
}

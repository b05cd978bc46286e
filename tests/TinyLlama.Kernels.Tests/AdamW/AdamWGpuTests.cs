using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class AdamWGpuTests(CpuAcceleratorFixture gpu)
{
    const float Lr = 3e-3f, Beta1 = 0.9f, Beta2 = 0.95f, Eps = 1e-8f, Wd = 0.1f;
    const int Step = 3;

    static (float[] P, float[] M, float[] V) State(int n, int seed)
    {
        float[] p = RandomData.Array<float>(n, seed);
        float[] m = RandomData.Array<float>(n, seed + 1, 0.1);
        float[] v = RandomData.Array<float>(n, seed + 2, 0.01).Select(Math.Abs).ToArray();
        return (p, m, v);
    }

    static (float[] P, float[] M, float[] V) Reference(float[] p, float[] g, float[] m, float[] v)
    {
        float[] rp = (float[])p.Clone(), rm = (float[])m.Clone(), rv = (float[])v.Clone();
        Kernels.AdamW.StepReference(rp, g, rm, rv, Lr, Beta1, Beta2, Eps, Wd, Step);
        return (rp, rm, rv);
    }

    static void AssertState((float[] P, float[] M, float[] V) expected, float[] p, float[] m, float[] v, string what)
    {
        AssertClose.All<float>(expected.P, p, AssertClose.Elementwise<float>(), what + ": param");
        AssertClose.All<float>(expected.M, m, AssertClose.Elementwise<float>(), what + ": m");
        AssertClose.All<float>(expected.V, v, AssertClose.Elementwise<float>(), what + ": v");
    }

    [Fact]
    public void F32GradientMatchesTheReference()
    {
        const int n = 1001;
        var (p, m, v) = State(n, 1);
        float[] g = RandomData.Array<float>(n, 4, 0.5);
        var expected = Reference(p, g, m, v);
        using var bp = gpu.Upload<float>(p);
        using var bg = gpu.Upload<float>(g);
        using var bm = gpu.Upload<float>(m);
        using var bv = gpu.Upload<float>(v);
        gpu.Kernels.Get<AdamWGpu>().Step(gpu.Stream, bp.View, bg.View, bm.View, bv.View, Lr, Beta1, Beta2, Eps, Wd, Step);
        AssertState(expected, gpu.Download(bp), gpu.Download(bm), gpu.Download(bv), "AdamW f32 grad");
        Assert.Equal(g, gpu.Download(bg)); // the gradient is read only
    }

    [Fact]
    public void Bf16GradientWithBf16CopyMatchesTheReference()
    {
        const int n = 777;
        var (p, m, v) = State(n, 5);
        var (g, gValues) = Bf16Data.Array(n, 8, 0.5);
        var expected = Reference(p, gValues, m, v);
        using var bp = gpu.Upload<float>(p);
        using var bg = gpu.Upload<ushort>(g);
        using var bm = gpu.Upload<float>(m);
        using var bv = gpu.Upload<float>(v);
        using var copy = gpu.Poisoned<ushort>(n);
        gpu.Kernels.Get<AdamWGpu>().Step(gpu.Stream, bp.View, bg.View, bm.View, bv.View, Lr, Beta1, Beta2, Eps, Wd, Step, paramBf16: copy.View);
        float[] actualP = gpu.Download(bp);
        // The inputs are exact bf16 values and the math is f32: the f32 tolerance applies.
        AssertState(expected, actualP, gpu.Download(bm), gpu.Download(bv), "AdamW bf16 grad");
        Assert.Equal(Bf16Data.Round(actualP), gpu.Download(copy));
    }

    [Fact]
    public void F32GradientWithCopyAndClipFactorMatchesTheReferenceOnScaledGradients()
    {
        const int n = 513;
        const float scale = 0.37f;
        var (p, m, v) = State(n, 9);
        float[] g = RandomData.Array<float>(n, 12, 2);
        var expected = Reference(p, g.Select(x => x * scale).ToArray(), m, v);
        using var bp = gpu.Upload<float>(p);
        using var bg = gpu.Upload<float>(g);
        using var bm = gpu.Upload<float>(m);
        using var bv = gpu.Upload<float>(v);
        using var copy = gpu.Poisoned<ushort>(n);
        using var factor = gpu.Upload<float>([123f, scale]); // as GradNormGpu's result: norm, factor
        gpu.Kernels.Get<AdamWGpu>().Step(gpu.Stream, bp.View, bg.View, bm.View, bv.View, Lr, Beta1, Beta2, Eps, Wd, Step,
            paramBf16: copy.View, gradScale: factor.View.SubView(1, 1));
        float[] actualP = gpu.Download(bp);
        AssertState(expected, actualP, gpu.Download(bm), gpu.Download(bv), "AdamW f32 grad, clip factor");
        Assert.Equal(Bf16Data.Round(actualP), gpu.Download(copy));
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeLaunch()
    {
        using var p = gpu.Upload<float>(new float[8]);
        using var g = gpu.Upload<float>(new float[8]);
        using var shortM = gpu.Upload<float>(new float[7]);
        using var copy = gpu.Upload<ushort>(new ushort[9]);
        var adamw = gpu.Kernels.Get<AdamWGpu>();
        var e1 = Assert.Throws<ArgumentException>(() => adamw.Step(gpu.Stream, p.View, g.View, shortM.View, p.View, Lr, Beta1, Beta2, Eps, Wd, 1));
        Assert.Contains("m has 7 elements", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => adamw.Step(gpu.Stream, p.View, g.View, g.View, p.View, Lr, Beta1, Beta2, Eps, Wd, 0));
        Assert.Contains("step", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => adamw.Step(gpu.Stream, p.View, g.View, g.View, p.View, Lr, Beta1, Beta2, Eps, Wd, 1, paramBf16: copy.View));
        Assert.Contains("paramBf16 has 9 elements", e3.Message);
    }
}

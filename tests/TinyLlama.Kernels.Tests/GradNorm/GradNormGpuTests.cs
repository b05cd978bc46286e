using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class GradNormGpuTests(CpuAcceleratorFixture gpu)
{
    [Theory]
    [InlineData(0.5f)]
    [InlineData(1e6f)]
    public void ClipOverF32AndBf16BuffersMatchesTheReference(float maxNorm)
    {
        float[][] f32 = [RandomData.Array<float>(3001, 1), RandomData.Array<float>(37, 2, 3), RandomData.Array<float>(5, 3)];
        var bf16 = new[] { Bf16Data.Array(333, 4), Bf16Data.Array(7, 5, 2) };
        var all = f32.Select(g => (float[])g.Clone()).Concat(bf16.Select(b => (float[])b.Values.Clone())).ToList();
        double norm = GradNorm.ClipReference(all, maxNorm);

        var norms = gpu.Kernels.Get<GradNormGpu>();
        var f32Buffers = f32.Select(g => gpu.Upload<float>(g)).ToList();
        var bf16Buffers = bf16.Select(b => gpu.Upload<ushort>(b.Bits)).ToList();
        using var partials = gpu.Poisoned<float>(5 * norms.PartialsPerBuffer);
        using var result = gpu.Poisoned<float>(2);
        try
        {
            norms.Clip(gpu.Stream, f32Buffers.Select(b => (ILGPU.ArrayView<float>)b.View).ToList(),
                bf16Buffers.Select(b => (ILGPU.ArrayView<ushort>)b.View).ToList(), partials.View, result.View, maxNorm);
            float[] r = gpu.Download(result);
            AssertClose.Scalar(norm, r[0], AssertClose.Reduction<float>(), "norm");
            AssertClose.Scalar(GradNorm.ClipScale(norm, maxNorm), r[1], AssertClose.Reduction<float>(), "clip factor");
            for (int b = 0; b < f32.Length; b++)
            {
                float[] actual = gpu.Download(f32Buffers[b]);
                AssertClose.All<float>(all[b], actual, AssertClose.Reduction<float>(), $"f32 buffer {b}");
                if (r[1] == 1f) Assert.Equal(f32[b], actual); // untouched when not clipping
            }
            for (int b = 0; b < bf16.Length; b++)
                AssertClose.All<float>(all[f32.Length + b], Bf16Data.Widen(gpu.Download(bf16Buffers[b])), Bf16Data.Tolerance, $"bf16 buffer {b}");
        }
        finally
        {
            foreach (var b in f32Buffers) b.Dispose();
            foreach (var b in bf16Buffers) b.Dispose();
        }
    }

    [Fact]
    public void ClipFactorFedToAdamWMatchesClipThenStep()
    {
        const float maxNorm = 0.25f, lr = 1e-3f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, wd = 0.1f;
        const int step = 2, n = 301;
        float[] p = RandomData.Array<float>(n, 20), g = RandomData.Array<float>(n, 21);
        float[] m = RandomData.Array<float>(n, 22, 0.1), v = RandomData.Array<float>(n, 23, 0.01).Select(Math.Abs).ToArray();
        var clipped = new List<float[]> { (float[])g.Clone() };
        GradNorm.ClipReference(clipped, maxNorm);
        float[] ep = (float[])p.Clone(), em = (float[])m.Clone(), ev = (float[])v.Clone();
        Kernels.AdamW.StepReference(ep, clipped[0], em, ev, lr, beta1, beta2, eps, wd, step);

        var norms = gpu.Kernels.Get<GradNormGpu>();
        using var bp = gpu.Upload<float>(p);
        using var bg = gpu.Upload<float>(g);
        using var bm = gpu.Upload<float>(m);
        using var bv = gpu.Upload<float>(v);
        using var partials = gpu.Poisoned<float>(norms.PartialsPerBuffer);
        using var result = gpu.Poisoned<float>(2);
        norms.Clip(gpu.Stream, [bg.View], [], partials.View, result.View, maxNorm, applyScale: false);
        gpu.Kernels.Get<AdamWGpu>().Step(gpu.Stream, bp.View, bg.View, bm.View, bv.View, lr, beta1, beta2, eps, wd, step,
            gradScale: result.View.SubView(1, 1));
        Assert.Equal(g, gpu.Download(bg)); // the gradients were never rewritten
        AssertClose.All<float>(ep, gpu.Download(bp), AssertClose.Reduction<float>(), "param after clip + step");
        AssertClose.All<float>(em, gpu.Download(bm), AssertClose.Reduction<float>(), "m after clip + step");
        AssertClose.All<float>(ev, gpu.Download(bv), AssertClose.Reduction<float>(), "v after clip + step");
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeLaunch()
    {
        var norms = gpu.Kernels.Get<GradNormGpu>();
        using var g = gpu.Upload<float>(new float[4]);
        using var partials = gpu.Poisoned<float>(norms.PartialsPerBuffer);
        using var result = gpu.Poisoned<float>(1);
        var e1 = Assert.Throws<ArgumentException>(() => norms.Scale(gpu.Stream, g.View, result.View));
        Assert.Contains("result has 1 elements", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => norms.SumOfSquares(gpu.Stream, g.View, partials.View, 1));
        Assert.Contains("partials", e2.Message);
    }
}

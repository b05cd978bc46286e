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

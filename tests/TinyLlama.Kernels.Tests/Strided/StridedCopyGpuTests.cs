using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class StridedCopyGpuTests(CpuAcceleratorFixture gpu)
{
    public static TheoryData<string> Views => StridedCopyTests.Views;

    [Theory, MemberData(nameof(Views))]
    public void CopyF32Bf16I32AndCastsMatchTheReference(string name)
    {
        var layout = StridedCopyTests.View(name);
        int n = (int)layout.Count;
        var copy = gpu.Kernels.Get<StridedCopyGpu>();

        float[] source = RandomData.Array<float>(StridedCopyTests.BufferLength, 1);
        var expected = new float[n];
        StridedCopy.CopyReference<float>(source, layout, expected);
        using var src = gpu.Upload<float>(source);
        using var dst = gpu.Poisoned<float>(n);
        copy.Copy(gpu.Stream, src.View, layout, dst.View);
        Assert.Equal(expected, gpu.Download(dst));

        // f32 → bf16 on the way: exactly the CPU rounding.
        using var dst16 = gpu.Poisoned<ushort>(n);
        copy.Copy(gpu.Stream, src.View, layout, dst16.View);
        Assert.Equal(Bf16Data.Round(expected), gpu.Download(dst16));

        var (bits, _) = Bf16Data.Array(StridedCopyTests.BufferLength, 2);
        var expected16 = new ushort[n];
        StridedCopy.CopyReference<ushort>(bits, layout, expected16);
        using var src16 = gpu.Upload<ushort>(bits);
        using var out16 = gpu.Poisoned<ushort>(n);
        copy.Copy(gpu.Stream, src16.View, layout, out16.View);
        Assert.Equal(expected16, gpu.Download(out16));

        // bf16 → f32 on the way: exact.
        using var out32 = gpu.Poisoned<float>(n);
        copy.Copy(gpu.Stream, src16.View, layout, out32.View);
        Assert.Equal(Bf16Data.Widen(expected16), gpu.Download(out32));

        int[] ids = RandomData.Ints(StridedCopyTests.BufferLength, 3, 32000);
        var expectedIds = new int[n];
        StridedCopy.CopyReference<int>(ids, layout, expectedIds);
        using var srcIds = gpu.Upload<int>(ids);
        using var outIds = gpu.Poisoned<int>(n);
        copy.Copy(gpu.Stream, srcIds.View, layout, outIds.View);
        Assert.Equal(expectedIds, gpu.Download(outIds));
    }

    [Theory]
    [InlineData(2, 37, 45)]
    [InlineData(1, 1, 70)]
    public void TransposeF32Bf16I32MatchTheReference(int batch, int rows, int cols)
    {
        int n = batch * rows * cols;
        var copy = gpu.Kernels.Get<StridedCopyGpu>();

        float[] x = RandomData.Array<float>(n, 4);
        var expected = new float[n];
        StridedCopy.TransposeReference<float>(x, expected, batch, rows, cols);
        using var src = gpu.Upload<float>(x);
        using var dst = gpu.Poisoned<float>(n);
        copy.Transpose(gpu.Stream, src.View, dst.View, batch, rows, cols);
        Assert.Equal(expected, gpu.Download(dst));

        var (bits, _) = Bf16Data.Array(n, 5);
        var expected16 = new ushort[n];
        StridedCopy.TransposeReference<ushort>(bits, expected16, batch, rows, cols);
        using var src16 = gpu.Upload<ushort>(bits);
        using var dst16 = gpu.Poisoned<ushort>(n);
        copy.Transpose(gpu.Stream, src16.View, dst16.View, batch, rows, cols);
        Assert.Equal(expected16, gpu.Download(dst16));

        int[] ids = RandomData.Ints(n, 6, 1 << 30);
        var expectedIds = new int[n];
        StridedCopy.TransposeReference<int>(ids, expectedIds, batch, rows, cols);
        using var srcIds = gpu.Upload<int>(ids);
        using var dstIds = gpu.Poisoned<int>(n);
        copy.Transpose(gpu.Stream, srcIds.View, dstIds.View, batch, rows, cols);
        Assert.Equal(expectedIds, gpu.Download(dstIds));
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeLaunch()
    {
        var copy = gpu.Kernels.Get<StridedCopyGpu>();
        using var src = gpu.Upload<float>(new float[10]);
        using var dst = gpu.Poisoned<float>(12);
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => copy.Copy(gpu.Stream, src.View, StridedLayout.Create([3, 4], [4, 1]), dst.View));
        Assert.Contains("layout reaches element offsets [0, 11]", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => copy.Copy(gpu.Stream, src.View, StridedLayout.Create([2, 2], [-1, 1], 0), dst.View));
        Assert.Contains("layout reaches element offsets [-1, 1]", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => copy.Transpose(gpu.Stream, src.View, dst.View, 1, 2, 5));
        Assert.Contains("destination has 12 elements", e3.Message);
    }
}

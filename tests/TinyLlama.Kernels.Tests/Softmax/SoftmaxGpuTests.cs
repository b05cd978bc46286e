using TinyLlama.Kernels.Tests.Cuda;
using static TinyLlama.Kernels.Tests.GpuTestData;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class SoftmaxGpuTests(CpuAcceleratorFixture gpu)
{
    // Logits up to ±30, so exp without the max subtracted would lose the small terms; a −∞ (a masked position) in
    // row 0 and a row-leading max in row 1 exercise the online rescaling from both ends.
    static float[] Logits(int rows, int cols, bool bf16)
    {
        float[] x = RandomData.Array<float>(rows * cols, 1, 30);
        x[cols / 2] = float.NegativeInfinity;
        if (rows > 1) x[cols] = 40f;
        return Stored(x, bf16);
    }

    [Theory]
    [InlineData(3, 37, false, false)]
    [InlineData(3, 37, true, false)]
    [InlineData(3, 70, false, true)]
    [InlineData(3, 70, true, true)]
    [InlineData(2, 200, false, false)]
    [InlineData(2, 200, true, true)]
    public void ForwardAndBackwardMatchTheReference(int rows, int cols, bool bf16, bool inPlace) =>
        Check(gpu.Kernels.Get<SoftmaxGpu>(), rows, cols, bf16, inPlace);

    // The group size the GPU runs (256 threads, 8 warps in the reduction); 700 > 2·256 takes the unrolled loop.
    [Fact]
    public void TheGpuGroupSizeMatchesTheReference() =>
        Check(new SoftmaxGpu(gpu.Accelerator, SoftmaxGpu.GpuGroupSize), 2, 700, bf16: false, inPlace: false);

    void Check(SoftmaxGpu softmax, int rows, int cols, bool bf16, bool inPlace)
    {
        float[] x = Logits(rows, cols, bf16), dy = Stored(RandomData.Array<float>(rows * cols, 2), bf16);
        var yRef = new double[rows * cols];
        Softmax.ForwardReference<double>(ToDouble(x), yRef, rows, cols);
        // Backward from the y the kernel would have stored, so the two tests do not compound.
        float[] yStored = Stored(yRef.Select(v => (float)v).ToArray(), bf16);
        var dxRef = new double[rows * cols];
        Softmax.BackwardReference<double>(ToDouble(yStored), ToDouble(dy), dxRef, rows, cols);

        float[] y, dx;
        if (bf16)
        {
            using var bx = gpu.Upload<ushort>(ToBf16(x));
            using var by = gpu.Poisoned<ushort>(rows * cols);
            using var bys = gpu.Upload<ushort>(ToBf16(yStored));
            using var bdy = gpu.Upload<ushort>(ToBf16(dy));
            using var bdx = gpu.Poisoned<ushort>(rows * cols);
            ILGPU.ArrayView<ushort> yOut = inPlace ? bx.View : by.View, dxOut = inPlace ? bdy.View : bdx.View;
            softmax.Forward(gpu.Stream, bx.View, yOut, rows, cols);
            softmax.Backward(gpu.Stream, bys.View, bdy.View, dxOut, rows, cols);
            (y, dx) = (Widen(gpu.Download(yOut)), Widen(gpu.Download(dxOut)));
        }
        else
        {
            using var bx = gpu.Upload<float>(x);
            using var by = gpu.Poisoned<float>(rows * cols);
            using var bys = gpu.Upload<float>(yStored);
            using var bdy = gpu.Upload<float>(dy);
            using var bdx = gpu.Poisoned<float>(rows * cols);
            ILGPU.ArrayView<float> yOut = inPlace ? bx.View : by.View, dxOut = inPlace ? bdy.View : bdx.View;
            softmax.Forward(gpu.Stream, bx.View, yOut, rows, cols);
            softmax.Backward(gpu.Stream, bys.View, bdy.View, dxOut, rows, cols);
            (y, dx) = (gpu.Download(yOut), gpu.Download(dxOut));
        }
        Close(yRef, y, bf16, reduction: true, "Softmax y");
        Close(dxRef, dx, bf16, reduction: true, "Softmax dx");
        Assert.Equal(0f, y[cols / 2]); // exp(−∞) is exactly 0
    }

    [Fact]
    public void WrongLengthsAreRefusedBeforeLaunch()
    {
        var softmax = gpu.Kernels.Get<SoftmaxGpu>();
        using var a = gpu.Upload<float>(new float[12]);
        using var b = gpu.Poisoned<float>(11);
        var e = Assert.Throws<ArgumentException>(() => softmax.Forward(gpu.Stream, a.View, b.View, 3, 4));
        Assert.Contains("SoftmaxGpu.Forward: y has 11 elements, expected rows·cols = 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => softmax.Backward(gpu.Stream, a.View, b.View, a.View, 3, 4));
        Assert.Contains("SoftmaxGpu.Backward: dy has 11 elements", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => softmax.Forward(gpu.Stream, a.View, a.View, 12, 0));
    }
}

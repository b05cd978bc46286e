using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class ReduceGpuTests(CpuAcceleratorFixture gpu)
{
    [Theory]
    [InlineData(ReduceOp.Mean, 1003)] // more columns than a group (Mean is Sum, then a division)
    [InlineData(ReduceOp.Max, 1003)]
    [InlineData(ReduceOp.Sum, 3)] // fewer columns than a warp
    public void RowsF32AndBf16MatchTheReference(ReduceOp op, int cols)
    {
        const int rows = 3;
        float[] x = RandomData.Array<float>(rows * cols, 1 + cols);
        var expected = new float[rows];
        Reduce.RowsReference(x, expected, cols, op);
        using var input = gpu.Upload<float>(x);
        using var output = gpu.Poisoned<float>(rows);
        var reduce = gpu.Kernels.Get<ReduceGpu>();
        reduce.Rows(gpu.Stream, input.View, output.View, cols, op);
        AssertClose.All<float>(expected, gpu.Download(output), AssertClose.Reduction<float>(), $"rows f32 {op}");

        var (bits, values) = Bf16Data.Array(rows * cols, 2 + cols);
        Reduce.RowsReference(values, expected, cols, op);
        using var input16 = gpu.Upload<ushort>(bits);
        using var output16 = gpu.Poisoned<ushort>(rows);
        reduce.Rows(gpu.Stream, input16.View, output16.View, cols, op);
        AssertClose.All<float>(expected, Bf16Data.Widen(gpu.Download(output16)), Bf16Data.Tolerance, $"rows bf16 {op}");
    }

    [Theory]
    [InlineData(ReduceOp.Sum)]
    [InlineData(ReduceOp.Mean)]
    [InlineData(ReduceOp.Max)]
    public void AllF32AndBf16MatchTheReference(ReduceOp op)
    {
        const int n = 5003; // several unrolled rounds of the two groups plus a tail
        float[] x = RandomData.Array<float>(n, 3);
        var reduce = gpu.Kernels.Get<ReduceGpu>();
        using var input = gpu.Upload<float>(x);
        using var output = gpu.Poisoned<float>(1);
        reduce.All(gpu.Stream, input.View, output.View, op);
        AssertClose.Scalar(Reduce.AllReference(x, op), gpu.Download(output)[0], AssertClose.Reduction<float>(), $"all f32 {op}");

        var (bits, values) = Bf16Data.Array(n, 4);
        using var input16 = gpu.Upload<ushort>(bits);
        using var output16 = gpu.Poisoned<ushort>(1);
        reduce.All(gpu.Stream, input16.View, output16.View, op);
        AssertClose.Scalar(Reduce.AllReference(values, op), BFloat16.ToFloat(gpu.Download(output16)[0]), Bf16Data.Tolerance, $"all bf16 {op}");
    }

    [Fact]
    public void AllIsDeterministic()
    {
        float[] x = RandomData.Array<float>(4099, 5, 100);
        var reduce = gpu.Kernels.Get<ReduceGpu>();
        using var input = gpu.Upload<float>(x);
        using var output = gpu.Poisoned<float>(1);
        reduce.All(gpu.Stream, input.View, output.View, ReduceOp.Sum);
        float first = gpu.Download(output)[0];
        reduce.All(gpu.Stream, input.View, output.View, ReduceOp.Sum);
        Assert.Equal(BitConverter.SingleToUInt32Bits(first), BitConverter.SingleToUInt32Bits(gpu.Download(output)[0]));
    }

    [Fact]
    public void RowMaxPropagatesNaN()
    {
        float[] x = [1f, 2f, float.NaN, 4f, 5f, 6f];
        using var input = gpu.Upload<float>(x);
        using var output = gpu.Poisoned<float>(2);
        gpu.Kernels.Get<ReduceGpu>().Rows(gpu.Stream, input.View, output.View, 3, ReduceOp.Max);
        float[] y = gpu.Download(output);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(6f, y[1]);
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeLaunch()
    {
        var reduce = gpu.Kernels.Get<ReduceGpu>();
        using var input = gpu.Upload<float>(new float[10]);
        using var output = gpu.Poisoned<float>(3);
        var e1 = Assert.Throws<ArgumentException>(() => reduce.Rows(gpu.Stream, input.View, output.View, 4, ReduceOp.Sum));
        Assert.Contains("input has 10 elements", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => reduce.Rows(gpu.Stream, input.View, output.View, 0, ReduceOp.Sum));
        Assert.Contains("cols", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => reduce.All(gpu.Stream, input.View, output.View, ReduceOp.Sum));
        Assert.Contains("output has 3 elements", e3.Message);
    }
}

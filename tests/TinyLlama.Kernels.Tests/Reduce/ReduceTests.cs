namespace TinyLlama.Kernels.Tests;

public class ReduceTests
{
    [Theory]
    [InlineData(ReduceOp.Sum)]
    [InlineData(ReduceOp.Mean)]
    [InlineData(ReduceOp.Max)]
    public void CpuRowsAndAllMatchTheReference(ReduceOp op)
    {
        const int rows = 7, cols = 1003;
        float[] x = RandomData.Array<float>(rows * cols, 1);
        float[] expected = new float[rows], actual = new float[rows];
        Reduce.RowsReference(x, expected, cols, op);
        Reduce.Rows(x, actual, cols, op);
        AssertClose.All<float>(expected, actual, AssertClose.Reduction<float>(), $"rows {op}");
        AssertClose.Scalar(Reduce.AllReference(x, op), Reduce.All(x, op), AssertClose.Reduction<float>(), $"all {op}");
    }

    [Fact]
    public void MaxPropagatesNaN()
    {
        float[] x = [1f, float.NaN, 3f];
        Assert.True(double.IsNaN(Reduce.AllReference(x, ReduceOp.Max)));
        Assert.True(float.IsNaN(Reduce.All(x, ReduceOp.Max)));
    }

    [Fact]
    public void WrongLengthsAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => Reduce.Rows(new float[10], new float[3], 4, ReduceOp.Sum));
        Assert.Contains("input has 10 elements", e.Message);
    }
}

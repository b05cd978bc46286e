using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

public class MatMulTests
{
    private static double[] Naive(double[] a, double[] b, int batch, int m, int k, int n, bool shareB)
    {
        var c = new double[batch * m * n];
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += a[(z * m + i) * k + p] * b[(shareB ? 0 : z * k * n) + p * n + j];
                    c[(z * m + i) * n + j] = s;
                }
        return c;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 33, 5)]
    [InlineData(130, 65, 129)]
    public void TwoD_AndTransposedViews_MatchNaive(int m, int k, int n)
    {
        var rng = new Random(m + k + n);
        using var a = Tensor.Randn([m, k], rng);
        using var b = Tensor.Randn([k, n], rng);
        var expected = Naive(a.ToDoubleArray(), b.ToDoubleArray(), 1, m, k, n, true);
        using var c = a.MatMul(b);
        AssertClose(expected, c.ToDoubleArray(), k);

        using var bT = b.Transpose().Contiguous();   // (n, k) storage
        using var bView = bT.Transpose();            // a (k, n) view of it
        using var c2 = a.MatMul(bView);
        AssertClose(expected, c2.ToDoubleArray(), k);
    }

    [Fact]
    public void Batched_MatchesNaive()
    {
        var rng = new Random(5);
        using var a = Tensor.Randn([3, 7, 9], rng);
        using var b = Tensor.Randn([3, 9, 4], rng);
        using var b2 = Tensor.Randn([9, 4], rng);
        using var c = a.MatMul(b);
        using var c2 = a.MatMul(b2);
        AssertClose(Naive(a.ToDoubleArray(), b.ToDoubleArray(), 3, 7, 9, 4, false), c.ToDoubleArray(), 9);
        AssertClose(Naive(a.ToDoubleArray(), b2.ToDoubleArray(), 3, 7, 9, 4, true), c2.ToDoubleArray(), 9);
    }

    [Fact]
    public void MismatchedInnerDimension_NamesShapes()
    {
        using var a = Tensor.Zeros([2, 3]);
        using var b = Tensor.Zeros([4, 5]);
        var e = Assert.Throws<ArgumentException>(() => a.MatMul(b));
        Assert.Contains("matmul", e.Message);
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("(4, 5)", e.Message);
    }

    private static void AssertClose(double[] expected, double[] actual, int k)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale * Math.Max(1, Math.Sqrt(k)),
                $"element {i}: expected {expected[i]}, got {actual[i]}");
    }
}

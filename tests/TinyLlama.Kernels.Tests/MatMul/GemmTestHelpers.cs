using System.Numerics;

namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>Random operands, a poisoned C, and the error measure the GEMM tests share.</summary>
internal static class GemmTestHelpers
{
    /// <summary>
    /// Allowed error, relative to max(1, max|ref|). A dot product of K terms rounded at each add has an
    /// error that grows like √K·ε for random signs, so the bound is the f32 budget of 1e-5 (1e-13 for double)
    /// for K up to 256, widened by √(K/256) beyond.
    /// </summary>
    public static double Tolerance<T>(int k) where T : unmanaged
        => (typeof(T) == typeof(float) ? 1e-5 : 1e-13) * Math.Max(1.0, Math.Sqrt(k / 256.0));

    /// <summary>Values in [-1, 1] and never zero, so a skipped term always shows.</summary>
    public static T[] RandomValues<T>(Random random, int count) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var values = new T[count];
        for (int i = 0; i < count; i++)
        {
            double v;
            do v = random.NextDouble() * 2 - 1; while (Math.Abs(v) < 1e-3);
            values[i] = T.CreateTruncating(v);
        }
        return values;
    }

    /// <summary>Elements needed for a row-major (rows, cols) matrix with row stride ld.</summary>
    public static int Extent(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;

    /// <summary>max|actual − expected| / max(1, max|expected|) over the (m, n) window; NaN anywhere gives +∞.</summary>
    public static double RelativeError<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> expected, int m, int n, int ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double x = double.CreateTruncating(actual[i * ldc + j]);
                double y = double.CreateTruncating(expected[i * ldc + j]);
                if (double.IsNaN(x) || double.IsNaN(y)) return double.PositiveInfinity;
                maxDiff = Math.Max(maxDiff, Math.Abs(x - y));
                maxRef = Math.Max(maxRef, Math.Abs(y));
            }
        }
        return maxDiff / Math.Max(1.0, maxRef);
    }

    /// <summary>Checks that the padding between rows of C (columns n..ldc) was left exactly as it was.</summary>
    public static void AssertPaddingUntouched<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> before, int m, int n, int ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = n; j < ldc && i * ldc + j < actual.Length; j++)
            {
                Assert.True(actual[i * ldc + j].Equals(before[i * ldc + j]) || (T.IsNaN(actual[i * ldc + j]) && T.IsNaN(before[i * ldc + j])),
                    $"padding C[{i}, {j}] was overwritten");
            }
        }
    }

    /// <summary>
    /// Runs one GEMM with <paramref name="kernel"/> and the reference on the same random operands
    /// (rows padded by padA/padB/padC elements) and asserts they agree; C is NaN-poisoned when beta is 0.
    /// </summary>
    public static void CheckAgainstReference<T>(GemmKernel kernel, bool transA, bool transB, int m, int n, int k,
        double alpha, double beta, int padA, int padB, int padC, int seed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        int lda = (transA ? m : k) + padA, ldb = (transB ? k : n) + padB, ldc = n + padC;
        var a = RandomValues<T>(random, Extent(transA ? k : m, transA ? m : k, lda));
        var b = RandomValues<T>(random, Extent(transB ? n : k, transB ? k : n, ldb));
        var c = RandomValues<T>(random, Extent(m, n, ldc));
        if (beta == 0)
            for (int i = 0; i < m; i++) c.AsSpan(i * ldc, n).Fill(T.NaN);
        var before = (T[])c.Clone();
        var expected = (T[])c.Clone();

        Gemm.MultiplyWith(kernel, transA, transB, m, n, k, T.CreateTruncating(alpha), a, lda, b, ldb, T.CreateTruncating(beta), c, ldc);
        Gemm.MultiplyReference(transA, transB, m, n, k, T.CreateTruncating(alpha), a, lda, b, ldb, T.CreateTruncating(beta), expected, ldc);

        double error = RelativeError<T>(c, expected, m, n, ldc);
        Assert.True(error <= Tolerance<T>(k),
            $"{kernel} {typeof(T).Name} transA={transA} transB={transB} (m, n, k) = ({m}, {n}, {k}): relative error {error:E2} > {Tolerance<T>(k):E2}");
        AssertPaddingUntouched<T>(c, before, m, n, ldc);
    }
}

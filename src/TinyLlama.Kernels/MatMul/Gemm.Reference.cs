using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: a triple loop accumulating in double. The packed kernels are tested against it.
public static partial class Gemm
{
    /// <summary>Scalar reference of <see cref="Multiply{T}"/>.</summary>
    public static void MultiplyReference<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        double alphaD = double.CreateTruncating(alpha);
        double betaD = double.CreateTruncating(beta);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    // op(A)[i, p] and op(B)[p, j], read through the stored (row-major) layout.
                    T x = transA ? a[p * lda + i] : a[i * lda + p];
                    T y = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += double.CreateTruncating(x) * double.CreateTruncating(y);
                }
                ref T cij = ref c[i * ldc + j];
                // beta = 0 must not read C, so a NaN left there does not leak into the result.
                double prior = betaD == 0 ? 0 : betaD * double.CreateTruncating(cij);
                cij = T.CreateTruncating(alphaD * sum + prior);
            }
        }
    }
}

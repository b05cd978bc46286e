using System.Numerics;

namespace TinyLlama.Kernels;

/// <summary>
/// General matrix multiply on row-major matrices: C = alpha·op(A)·op(B) + beta·C,
/// where op(X) is X or Xᵀ. op(A) is (M, K), op(B) is (K, N), C is (M, N).
/// Leading dimensions are row strides in elements (row-major, so lda ≥ K when A is not transposed, ≥ M when it is).
/// When beta is zero, C is not read (NaN in C does not propagate), as in BLAS.
/// </summary>
public static partial class Gemm
{
    /// <summary>One GEMM. float takes the packed SIMD path; double a simpler blocked path (used for gradient checks).</summary>
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    /// <summary>
    /// <paramref name="batch"/> independent GEMMs; matrix i of each operand starts at i·stride
    /// (a stride of 0 broadcasts one matrix to every batch entry; strideC must not be 0 when batch &gt; 1).
    /// </summary>
    public static void MultiplyBatched<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, long strideA, ReadOnlySpan<T> b, int ldb, long strideB,
        T beta, Span<T> c, int ldc, long strideC, int batch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

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
        => throw new NotImplementedException();
}

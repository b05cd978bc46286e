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
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        Run(DefaultKernel<T>(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, CpuParallel.MaxDegree);
    }

    /// <summary>
    /// <paramref name="batch"/> independent GEMMs; matrix i of each operand starts at i·stride
    /// (a stride of 0 broadcasts one matrix to every batch entry; strideC must not be 0 when batch &gt; 1).
    /// </summary>
    public static void MultiplyBatched<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, long strideA, ReadOnlySpan<T> b, int ldb, long strideB,
        T beta, Span<T> c, int ldc, long strideC, int batch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => MultiplyBatchedWith(DefaultKernel<T>(), transA, transB, m, n, k, alpha, a, lda, strideA,
            b, ldb, strideB, beta, c, ldc, strideC, batch);

    /// <summary>Batched GEMM on a chosen micro-kernel, so tests can drive the portable path on any machine.</summary>
    internal static unsafe void MultiplyBatchedWith<T>(GemmKernel kernel, bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, long strideA, ReadOnlySpan<T> b, int ldb, long strideB,
        T beta, Span<T> c, int ldc, long strideC, int batch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateDims(m, n, k);
        if (batch < 0) throw Bad($"batch = {batch}; expected batch ≥ 0");
        if (strideA < 0 || strideB < 0 || strideC < 0)
            throw Bad($"strides ({strideA}, {strideB}, {strideC}); expected strideA, strideB, strideC ≥ 0");
        if (strideC == 0 && batch > 1 && m > 0 && n > 0)
            throw Bad($"strideC = 0 with batch = {batch}; expected strideC ≥ {(long)(m - 1) * ldc + n} so the outputs do not overlap");
        if (batch == 0 || m == 0 || n == 0) return;
        long lastA = (batch - 1) * strideA, lastB = (batch - 1) * strideB, lastC = (batch - 1) * strideC;
        // Validate the last matrix of each operand: with non-negative strides it reaches furthest.
        Validate(transA, transB, m, n, k, Remaining(a.Length, lastA), lda, Remaining(b.Length, lastB), ldb,
            Remaining(c.Length, lastC), ldc);

        // Many small products (attention heads) gain more from one core per entry than from
        // splitting each tiny product; large ones are split inside and run one after another.
        long work = (long)m * n * Math.Max(k, 1);
        int degree = CpuParallel.MaxDegree;
        if (batch > 1 && degree > 1 && work < SmallProductWork)
        {
            fixed (T* pa = a, pb = b, pc = c)
            {
                nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc;
                int lenA = a.Length, lenB = b.Length, lenC = c.Length;
                CpuParallel.For(batch, work, (start, end) =>
                {
                    for (int i = start; i < end; i++)
                    {
                        var ai = new ReadOnlySpan<T>((T*)ia + i * strideA, Remaining(lenA, i * strideA));
                        var bi = new ReadOnlySpan<T>((T*)ib + i * strideB, Remaining(lenB, i * strideB));
                        var ci = new Span<T>((T*)ic + i * strideC, Remaining(lenC, i * strideC));
                        Run(kernel, transA, transB, m, n, k, alpha, ai, lda, bi, ldb, beta, ci, ldc, maxDegree: 1);
                    }
                });
            }
            return;
        }
        for (int i = 0; i < batch; i++)
        {
            Run(kernel, transA, transB, m, n, k, alpha, a[Math.Min(a.Length, (int)Math.Min(int.MaxValue, i * strideA))..], lda,
                b[Math.Min(b.Length, (int)Math.Min(int.MaxValue, i * strideB))..], ldb,
                beta, c[(int)(i * strideC)..], ldc, degree);
        }
    }

    /// <summary>Below this many multiply-adds per product, a batch is split across entries rather than inside each.</summary>
    private const long SmallProductWork = 128L * 128 * 128;

    /// <summary>One GEMM on a chosen micro-kernel (tests force <see cref="GemmKernel.Portable"/> with it).</summary>
    internal static void MultiplyWith<T>(GemmKernel kernel, bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        Run(kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, CpuParallel.MaxDegree);
    }

    private static int Remaining(int length, long offset) => offset >= length ? 0 : (int)(length - offset);

    private static void ValidateDims(int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0)
            throw Bad($"dims (m, n, k) = ({m}, {n}, {k}); expected all ≥ 0");
    }

    /// <summary>Checks dims, leading dimensions and span lengths; lengths are the elements available from each operand's start.</summary>
    private static void Validate(bool transA, bool transB, int m, int n, int k,
        int lenA, int lda, int lenB, int ldb, int lenC, int ldc)
    {
        ValidateDims(m, n, k);
        // Stored shapes: A is (M, K) or, transposed, (K, M); B is (K, N) or (N, K).
        CheckOperand("A", transA, transA ? k : m, transA ? m : k, lenA, lda, m, n, k, needed: m > 0 && n > 0 && k > 0);
        CheckOperand("B", transB, transB ? n : k, transB ? k : n, lenB, ldb, m, n, k, needed: m > 0 && n > 0 && k > 0);
        CheckOperand("C", false, m, n, lenC, ldc, m, n, k, needed: m > 0 && n > 0);
    }

    private static void CheckOperand(string name, bool trans, int rows, int cols, int length, int ld,
        int m, int n, int k, bool needed)
    {
        string what = $"{name}{(trans ? "ᵀ" : "")} stored as ({rows}, {cols}) for (m, n, k) = ({m}, {n}, {k})";
        if (ld < Math.Max(1, cols))
            throw Bad($"ld{char.ToLowerInvariant(name[0])} = {ld} with {what}; expected ld{char.ToLowerInvariant(name[0])} ≥ {Math.Max(1, cols)}");
        if (!needed) return;
        long required = (long)(rows - 1) * ld + cols;
        if (length < required)
            throw Bad($"{name} has {length} elements with {what} and ld{char.ToLowerInvariant(name[0])} = {ld}; expected at least {required}");
    }

    private static ArgumentException Bad(string message) => new($"Gemm.Multiply: {message}.");
}

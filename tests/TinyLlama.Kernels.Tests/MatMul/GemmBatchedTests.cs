namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>Batched GEMM: each entry must equal a single reference GEMM on its own slices, broadcast operands included.</summary>
public class GemmBatchedTests
{
    /// <summary>
    /// Small products take the across-entries parallel path, large ones the inside-each path;
    /// strides of 0 broadcast A or B, and strides bigger than a matrix leave gaps that must stay untouched.
    /// </summary>
    [Theory]
    [InlineData(false, false, 7, 9, 5, 4, true, false)]
    [InlineData(true, false, 17, 33, 12, 5, false, true)]
    [InlineData(false, true, 130, 130, 131, 3, true, false)]
    [InlineData(true, true, 31, 8, 64, 6, false, false)]
    public void EachEntryMatchesReference(bool transA, bool transB, int m, int n, int k, int batch, bool broadcastA, bool broadcastB)
    {
        foreach (var kernel in new[] { Gemm.DefaultKernel<float>(), GemmKernel.Portable })
            Check<float>(kernel, transA, transB, m, n, k, batch, broadcastA, broadcastB, seed: 500 + m);
        Check<double>(GemmKernel.Portable, transA, transB, m, n, k, batch, broadcastA, broadcastB, seed: 600 + m);
    }

    private static void Check<T>(GemmKernel kernel, bool transA, bool transB, int m, int n, int k, int batch,
        bool broadcastA, bool broadcastB, int seed)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        int lda = transA ? m : k, ldb = transB ? k : n, ldc = n + 2;
        int sizeA = GemmTestHelpers.Extent(transA ? k : m, transA ? m : k, lda);
        int sizeB = GemmTestHelpers.Extent(transB ? n : k, transB ? k : n, ldb);
        int sizeC = GemmTestHelpers.Extent(m, n, ldc);
        long strideA = broadcastA ? 0 : sizeA + 3, strideB = broadcastB ? 0 : sizeB + 1, strideC = sizeC + 5;
        var a = GemmTestHelpers.RandomValues<T>(random, (int)(strideA * (batch - 1)) + sizeA);
        var b = GemmTestHelpers.RandomValues<T>(random, (int)(strideB * (batch - 1)) + sizeB);
        var c = GemmTestHelpers.RandomValues<T>(random, (int)(strideC * (batch - 1)) + sizeC);
        var expected = (T[])c.Clone();
        T alpha = T.CreateTruncating(0.5), beta = T.CreateTruncating(-1.0);

        Gemm.MultiplyBatchedWith(kernel, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
        for (int i = 0; i < batch; i++)
        {
            Gemm.MultiplyReference(transA, transB, m, n, k, alpha, a.AsSpan((int)(i * strideA)), lda, b.AsSpan((int)(i * strideB)), ldb,
                beta, expected.AsSpan((int)(i * strideC)), ldc);
        }

        for (int i = 0; i < batch; i++)
        {
            var actualEntry = c.AsSpan((int)(i * strideC), sizeC);
            var expectedEntry = expected.AsSpan((int)(i * strideC), sizeC);
            double error = GemmTestHelpers.RelativeError<T>(actualEntry, expectedEntry, m, n, ldc);
            Assert.True(error <= GemmTestHelpers.Tolerance<T>(k), $"{kernel} {typeof(T).Name} batch entry {i}: relative error {error:E2}");
        }
        // Padding inside each C and the gaps between entries were never written.
        for (int i = 0; i < c.Length; i++)
        {
            long entry = i / strideC, offset = i % strideC;
            bool inside = offset < sizeC && offset % ldc < n;
            if (!inside || entry >= batch) Assert.Equal(expected[i], c[i]);
        }
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class CpuChecks
{
    private delegate void GemmFunction(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc);

    private static IEnumerable<KernelCheck> MatMulChecks(SelfTestShapes shapes, int seed)
    {
        var (m, n, k) = shapes.Gemm;
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                yield return GemmCheck(seed, transA, transB, m, n, k, alpha: 1f, beta: 0f, padding: 0);
        // The general case: C is read and scaled, and every leading dimension is wider than its matrix.
        yield return GemmCheck(seed, false, true, m, n, k, alpha: 0.5f, beta: 0.25f, padding: 3);
        yield return GemmBatchedCheck(shapes, seed);
    }

    private static KernelCheck GemmCheck(int seed, bool transA, bool transB, int m, int n, int k,
        float alpha, float beta, int padding)
    {
        string op = $"gemm {(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')}" + (beta != 0 ? " alpha,beta,ld" : "");
        var random = new RandomData(seed, op);
        // Row-major: A is stored (M, K), or (K, M) when transposed; likewise B is (K, N) or (N, K).
        int lda = (transA ? m : k) + padding, ldb = (transB ? k : n) + padding, ldc = n + padding;
        var a = random.Uniform((transA ? k : m) * lda);
        var b = random.Uniform((transB ? n : k) * ldb);
        // With beta = 0 BLAS does not read C: NaN in C must not reach the result.
        var initialC = beta == 0 ? RandomData.Poisoned(m * ldc) : random.Uniform(m * ldc); // (M, ldc)

        IReadOnlyList<float[]> Run(GemmFunction gemm)
        {
            var c = (float[])initialC.Clone();
            gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return [c];
        }
        return new KernelCheck(op, $"M={m} N={n} K={k}", Tolerances.ForSum(k),
            () => Run(Gemm.Multiply), () => Run(Gemm.MultiplyReference));
    }

    /// <summary>Batched GEMM has no reference of its own: it is held to one reference GEMM per batch entry.</summary>
    private static KernelCheck GemmBatchedCheck(SelfTestShapes shapes, int seed)
    {
        const string op = "gemm batched NT";
        var (batch, m, n, k) = shapes.GemmBatched;
        var random = new RandomData(seed, op);
        var a = random.Uniform(batch * m * k); // (batch, M, K)
        var b = random.Uniform(n * k);         // (N, K), shared by every entry (stride 0)

        IReadOnlyList<float[]> RunFast()
        {
            var c = RandomData.Poisoned(batch * m * n); // (batch, M, N)
            Gemm.MultiplyBatched(false, true, m, n, k, 1f, a, k, m * k, b, k, 0, 0f, c, n, m * n, batch);
            return [c];
        }
        IReadOnlyList<float[]> RunReference()
        {
            var c = RandomData.Poisoned(batch * m * n);
            for (int i = 0; i < batch; i++)
                Gemm.MultiplyReference(false, true, m, n, k, 1f, a.AsSpan(i * m * k), k, b, k, 0f, c.AsSpan(i * m * n), n);
            return [c];
        }
        return new KernelCheck(op, $"batch={batch} M={m} N={n} K={k}", Tolerances.ForSum(k), RunFast, RunReference);
    }
}

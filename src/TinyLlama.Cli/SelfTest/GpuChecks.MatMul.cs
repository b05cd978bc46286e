using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    /// <summary>
    /// GEMM on the bf16 tensor-core kernel (forced, so a device without tensor cores fails the row instead of quietly
    /// taking the SIMT kernel): all four transposes at the preset's shape, the cp.async pipeline, bf16 C, and a
    /// TinyLlama projection shape when the preset has one; then the SIMT kernel on f32 operands. The reference is the
    /// CPU GEMM in f32 on the bf16-rounded operands.
    /// </summary>
    private static IEnumerable<KernelCheck> GemmChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        var tensorCore = new GemmGpuOptions { Path = GemmGpuPath.TensorCore };
        var (m, n, k) = shapes.Gemm;
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                yield return GemmCheck(device, seed, "tensor-core", tensorCore, transA, transB, m, n, k, bf16: true, bf16C: false);
        yield return GemmCheck(device, seed, "tensor-core cp.async", tensorCore with { Pipeline = GemmGpuPipeline.CpAsync },
            false, true, m, n, k, bf16: true, bf16C: false);
        yield return GemmCheck(device, seed, "tensor-core, bf16 C", tensorCore, false, true, m, n, k, bf16: true, bf16C: true);
        if (shapes.GemmProjection is var (pm, pn, pk))
            yield return GemmCheck(device, seed, "tensor-core", tensorCore, false, true, pm, pn, pk, bf16: true, bf16C: false);
        var simt = new GemmGpuOptions { Path = GemmGpuPath.Simt };
        yield return GemmCheck(device, seed, "simt", simt, false, false, m, n, k, bf16: false, bf16C: false);
        yield return GemmCheck(device, seed, "simt", simt, true, true, m, n, k, bf16: false, bf16C: false);
    }

    private static KernelCheck GemmCheck(GpuDevice device, int seed, string path, GemmGpuOptions options,
        bool transA, bool transB, int m, int n, int k, bool bf16, bool bf16C)
    {
        string op = $"gemm {(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')} {(bf16 ? "bf16" : "f32")} {path} (gpu)";
        var random = new RandomData(seed, op + $" {m}x{n}x{k}");
        // Row-major: A is stored (M, K), or (K, M) when transposed; likewise B is (K, N) or (N, K).
        int lda = transA ? m : k, ldb = transB ? k : n, ldc = n;
        var a = GpuScope.AsStored(random.Uniform(m * k), bf16);
        var b = GpuScope.AsStored(random.Uniform(k * n), bf16);
        return new KernelCheck(op, $"M={m} N={n} K={k}", bf16 ? Bf16Tolerance : Tolerances.ForSum(k),
            () =>
            {
                using var gpu = new GpuScope(device);
                var ga = gpu.Upload(a, bf16);
                var gb = gpu.Upload(b, bf16);
                var c = gpu.Poisoned((long)m * n, bf16C); // beta = 0: C is never read, the NaN must not leak in
                var gemm = device.Kernels.Get<GemmGpu>();
                if (!bf16) gemm.Multiply(device.Stream, transA, transB, m, n, k, 1f, ga.F32, lda, gb.F32, ldb, 0f, c.F32, ldc, options);
                else if (bf16C) gemm.Multiply(device.Stream, transA, transB, m, n, k, 1f, ga.Bf16View, lda, gb.Bf16View, ldb, 0f, c.Bf16View, ldc, options);
                else gemm.Multiply(device.Stream, transA, transB, m, n, k, 1f, ga.Bf16View, lda, gb.Bf16View, ldb, 0f, c.F32, ldc, options);
                return [gpu.Download(c)];
            },
            () =>
            {
                var c = RandomData.Poisoned(m * n);
                Gemm.Multiply<float>(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc);
                return [c];
            });
    }
}

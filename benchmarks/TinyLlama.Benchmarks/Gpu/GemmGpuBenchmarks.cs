using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Filters;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks.Gpu;

/// <summary>A GEMM problem: C (M, N) = A (M, K) · Bᵀ with B stored (N, K), as a linear layer y = x·Wᵀ.</summary>
public sealed record GemmShape(string Name, int M, int N, int K)
{
    public override string ToString() => $"{Name} {M}x{N}x{K}";
}

/// <summary>
/// Our bf16 tensor-core GEMM (both shared-memory pipelines, <see cref="GemmGpuPipeline"/>) against cuBLAS's
/// cublasGemmEx (bf16 in, f32 compute, default tensor-op algorithm) on the same device buffers and the same stream,
/// at TinyLlama-1.1B's layer shapes over 8×2048 tokens and at 4096³ and 8192³. A is (M, K), B is (N, K) (the
/// weight, transposed: "NT"), C is bf16 (M, N). TFLOP/s = 2·M·N·K / median time; "% of cuBLAS" = cuBLAS's time /
/// ours. Before timing, our C is checked against cuBLAS's on the first and last 8 rows and against a double-precision
/// CPU product on the first 4 rows (tolerance 1e-2: C is stored in bf16). Without cuBLAS (see <see cref="CuBlas"/>)
/// the cuBLAS cases are dropped, saying why, and only the CPU check runs.
/// </summary>
[Config(typeof(GemmGpuConfig))]
public class GemmGpuBenchmarks : GpuBenchmark
{
    public static IEnumerable<GemmShape> Shapes =>
    [
        new("q/o proj", 16384, 2048, 2048),
        new("k/v proj", 16384, 256, 2048),
        new("gate/up", 16384, 5632, 2048),
        new("down", 16384, 2048, 5632),
        new("lm head", 16384, 32000, 2048),
        new("square", 4096, 4096, 4096),
        new("square", 8192, 8192, 8192),
    ];

    [ParamsSource(nameof(Shapes))] public GemmShape Shape = Shapes.First();

    ArrayView<ushort> a, b, c, cReference;
    CuBlas? cuBlas;

    public override (double Bytes, double Flops) Work(string method) => (0, 2.0 * Shape.M * Shape.N * Shape.K);

    public override void UseSmokeSizes() => Shape = new GemmShape("smoke", 19, 24, 40);

    GemmGpu Gemm => Device.Kernels.Get<GemmGpu>();

    [GlobalSetup]
    public void Setup()
    {
        Open();
        var (m, n, k) = (Shape.M, Shape.N, Shape.K);
        a = RandomBf16((long)m * k, 1);
        b = RandomBf16((long)n * k, 2);
        c = Zeros16((long)m * n);
        cReference = Zeros16((long)m * n);
        if (!Gemm.TensorCores)
            throw new InvalidOperationException($"{Device}: GemmGpu reports no bf16 tensor cores; nothing to benchmark");
        if (CuBlas.MissingReason is null && !Device.IsSimulated)
            cuBlas = new CuBlas(((CudaStream)Stream).StreamPtr);

        foreach (var pipeline in new[] { GemmGpuPipeline.RegisterStaged, GemmGpuPipeline.CpAsync })
        {
            string what = $"GemmGpu {pipeline} {Shape}";
            Run(pipeline);
            int rows = Math.Min(m, 4);
            ValidateAgainstCpu(Download(c, rows * n), rows, what);
            if (cuBlas is null) continue;
            CuBlasGemm();
            int slice = Math.Min(m, 8) * n;
            Validate(Download(cReference, slice), Download(c, slice), 1e-2, $"{what} vs cuBLAS, first rows");
            long last = (long)(m - Math.Min(m, 8)) * n;
            Validate(Download(cReference.SubView(last), slice), Download(c.SubView(last), slice), 1e-2, $"{what} vs cuBLAS, last rows");
        }
        Console.WriteLine($"// {Shape}: validated against the CPU{(cuBlas is null ? $" only (cuBLAS: {CuBlas.MissingReason ?? "not on the simulator"})" : $" and cuBLAS ({CuBlas.LibraryPath})")}");
    }

    /// <summary>C[r, j] = Σ A[r, k]·B[j, k] in double for the first rows, on the values the device holds (the repeated random chunk, rounded to bf16).</summary>
    void ValidateAgainstCpu(float[] actual, int rows, string what)
    {
        var (n, k) = (Shape.N, Shape.K);
        var chunkA = HostValues(1).Select(v => BFloat16.ToFloat(BFloat16.FromFloat(v))).ToArray();
        var chunkB = HostValues(2).Select(v => BFloat16.ToFloat(BFloat16.FromFloat(v))).ToArray();
        var expected = new float[rows * n];
        Parallel.For(0, n, j =>
        {
            for (int r = 0; r < rows; r++)
            {
                double sum = 0;
                for (int i = 0; i < k; i++)
                    sum += (double)chunkA[(int)(((long)r * k + i) % RandomChunk)] * chunkB[(int)(((long)j * k + i) % RandomChunk)];
                expected[r * n + j] = (float)sum;
            }
        });
        Validate(expected, actual, 1e-2, $"{what} vs CPU (double), first {rows} rows");
    }

    void Run(GemmGpuPipeline pipeline)
    {
        var (m, n, k) = (Shape.M, Shape.N, Shape.K);
        Gemm.Multiply(Stream, false, true, m, n, k, 1f, a, k, b, k, 0f, c, n,
            new GemmGpuOptions { Path = GemmGpuPath.TensorCore, Pipeline = pipeline });
        Stream.Synchronize();
    }

    [Benchmark(Description = "GemmGpu register-staged")]
    public void OursRegisterStaged() => Run(GemmGpuPipeline.RegisterStaged);

    [Benchmark(Description = "GemmGpu cp.async")]
    public void OursCpAsync() => Run(GemmGpuPipeline.CpAsync);

    [Benchmark(Description = "cuBLAS GemmEx bf16")]
    public void CuBlasGemm()
    {
        var (m, n, k) = (Shape.M, Shape.N, Shape.K);
        cuBlas!.GemmBf16(false, true, m, n, k, a.LoadEffectiveAddressAsPtr(), k, b.LoadEffectiveAddressAsPtr(), k,
            cReference.LoadEffectiveAddressAsPtr(), n, CuBlas.DataTypeBf16);
        Stream.Synchronize();
    }

    public override bool CanRun(string method) => method != nameof(CuBlasGemm) || cuBlas is not null;

    protected override void OnCleanup()
    {
        cuBlas?.Dispose();
        cuBlas = null;
    }
}

/// <summary>The GPU configuration, minus the cuBLAS cases (said once) when the library cannot be found.</summary>
public sealed class GemmGpuConfig : GpuConfig
{
    static bool announced;

    public GemmGpuConfig()
    {
        if (CuBlas.MissingReason is null) return;
        if (!announced) Console.WriteLine($"// GemmGpuBenchmarks: cuBLAS baseline SKIPPED: {CuBlas.MissingReason}.");
        announced = true;
        AddFilter(new SimpleFilter(b => b.Descriptor.WorkloadMethod.Name != nameof(GemmGpuBenchmarks.CuBlasGemm)));
    }
}

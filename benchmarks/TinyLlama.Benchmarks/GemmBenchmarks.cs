using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks;

/// <summary>
/// Square float GEMM (C = A·B, row-major) at M = N = K = Size: ours against OpenBLAS's cblas_sgemm,
/// both on <see cref="Threads"/> threads. Each output is checked before anything is timed.
/// </summary>
[Config(typeof(GemmBenchmarkConfig))]
public class GemmBenchmarks
{
    /// <summary>Both libraries get the same number of cores, so the comparison is like for like.</summary>
    public const int Threads = 2;

    private float[] _a = [], _b = [], _c = [];

    [Params(512, 1024, 2048)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        int n = Size;
        var random = new Random(42);
        _a = GemmCheck.RandomValues(random, n * n); // (M, K)
        _b = GemmCheck.RandomValues(random, n * n); // (K, N)
        _c = new float[n * n];                      // (M, N)
        CpuParallel.MaxDegree = Threads;
        if (OpenBlas.IsAvailable) OpenBlas.SetThreads(Threads);

        // Validate before timing: ours against sampled double-precision dot products, and, when present,
        // against OpenBLAS over the whole matrix.
        _c.AsSpan().Fill(float.NaN);
        Gemm.Multiply(false, false, n, n, n, 1f, _a, n, _b, n, 0f, _c, n);
        GemmCheck.AgainstSampledReference(_a, _b, _c, n, random);
        if (OpenBlas.IsAvailable)
        {
            var baseline = new float[n * n];
            baseline.AsSpan().Fill(float.NaN);
            OpenBlas.Sgemm(false, false, n, n, n, 1f, _a, n, _b, n, 0f, baseline, n);
            GemmCheck.AgainstBaseline(_c, baseline, n);
            Console.WriteLine($"// GemmBenchmarks: Size={n} validated against OpenBLAS (core {OpenBlas.CoreName}, {Threads} threads, " +
                $"OPENBLAS_CORETYPE={Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "unset"})");
        }
    }

    [Benchmark(Description = "Gemm.Multiply")]
    public void Ours() => Gemm.Multiply(false, false, Size, Size, Size, 1f, _a, Size, _b, Size, 0f, _c, Size);

    [Benchmark(Baseline = true, Description = "OpenBLAS cblas_sgemm")]
    public void OpenBlasSgemm() => OpenBlas.Sgemm(false, false, Size, Size, Size, 1f, _a, Size, _b, Size, 0f, _c, Size);
}

/// <summary>Adds the GFLOP/s column and drops the OpenBLAS baseline, saying so, when the library is missing.</summary>
public class GemmBenchmarkConfig : ManualConfig
{
    private static bool s_announced;

    public GemmBenchmarkConfig()
    {
        AddColumn(StatisticColumn.Median, new GemmGflopsColumn());
        if (!OpenBlas.IsAvailable)
        {
            // BenchmarkDotNet builds the config several times; say it once per process.
            if (!s_announced) Console.WriteLine($"// GemmBenchmarks: OpenBLAS baseline SKIPPED: {OpenBlas.MissingReason}.");
            s_announced = true;
            AddFilter(new SimpleFilter(benchmark => benchmark.Descriptor.WorkloadMethod.Name != nameof(GemmBenchmarks.OpenBlasSgemm)));
        }
    }
}

/// <summary>
/// Throughput as 2·M·N·K floating-point operations over the median time: on a machine shared with other
/// work the median is less swayed by an iteration that lost its core than the mean is.
/// </summary>
public class GemmGflopsColumn : IColumn
{
    public string Id => nameof(GemmGflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "2·Size³ floating-point operations per nanosecond of median time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        if (statistics is null || benchmarkCase.Parameters["Size"] is not int size) return "NA";
        double flops = 2.0 * size * size * size;
        return (flops / statistics.Median).ToString("F1"); // flops per ns = GFLOP/s
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}

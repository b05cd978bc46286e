using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks;

/// <summary>
/// Bytes a memory-bound benchmark moves per (row, column) element of its main matrix: every big buffer it reads
/// plus every big buffer it writes, 4 bytes each for float. Per-row and per-column vectors (invRms, weight,
/// targets, logSumExp) are under 0.1 % of the traffic at these sizes and are left out.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BytesPerElementAttribute(int bytes) : Attribute
{
    public int Bytes { get; } = bytes;
}

/// <summary>A (rows, cols) benchmark parameter, for classes whose sizes do not form a grid.</summary>
public sealed record MatrixShape(int Rows, int Cols)
{
    public override string ToString() => $"{Rows}x{Cols}";
}

/// <summary>
/// GB/s = elements · [BytesPerElement] / median time, 1 GB = 1e9 bytes (the median, because the machines this runs
/// on are often shared and a few slow iterations should not decide the figure); elements = Rows · (Cols or Vocab), or a
/// <see cref="MatrixShape"/> parameter's Rows · Cols.
/// </summary>
public sealed class GigabytesPerSecondColumn : IColumn
{
    public string Id => nameof(GigabytesPerSecondColumn);
    public string ColumnName => "GB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Bytes read + written by the big buffers / median time (1 GB = 1e9 B)";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var bytesPerElement = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttribute<BytesPerElementAttribute>();
        double? medianNs = summary[benchmarkCase]?.ResultStatistics?.Median;
        if (bytesPerElement is null || medianNs is null) return "-";
        double elements = benchmarkCase.Parameters.Items.Select(p => p.Value).OfType<MatrixShape>().FirstOrDefault() is { } shape
            ? (double)shape.Rows * shape.Cols
            : Convert.ToDouble(Param(benchmarkCase, "Rows")) * Convert.ToDouble(Param(benchmarkCase, "Cols") ?? Param(benchmarkCase, "Vocab"));
        return (elements * bytesPerElement.Bytes / medianNs.Value).ToString("F2"); // bytes per ns = GB/s
    }

    static object? Param(BenchmarkCase benchmarkCase, string name)
        => benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value;

    public override string ToString() => ColumnName;
}

/// <summary>Adds the GB/s column to the default columns.</summary>
public sealed class MemoryBoundConfig : ManualConfig
{
    public MemoryBoundConfig() => AddColumn(new GigabytesPerSecondColumn());
}

/// <summary>
/// The comparator every memory-bound benchmark reports beside its kernels: copying the main matrix once
/// (read + write, 8 bytes per element), on one thread and split over the cores as the kernels are.
/// </summary>
public abstract class MemoryBoundBenchmark
{
    float[] copySource = [], copyDestination = [];

    protected void SetUpCopy(int elements)
    {
        copySource = new float[elements];
        copyDestination = new float[elements];
        new Random(1).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(copySource.AsSpan()));
    }

    [Benchmark, BytesPerElement(8)]
    public void CopyOneThread() => copySource.AsSpan().CopyTo(copyDestination);

    [Benchmark, BytesPerElement(8)]
    public void CopyParallel()
    {
        var (source, destination) = (copySource, copyDestination);
        const int block = 1 << 16;
        CpuParallel.For((source.Length + block - 1) / block, block, (first, last) =>
        {
            int start = first * block, end = Math.Min(last * block, source.Length);
            source.AsSpan(start, end - start).CopyTo(destination.AsSpan(start, end - start));
        });
    }

    /// <summary>Throws unless the kernel matches its reference on a slice; run in GlobalSetup, before anything is timed.</summary>
    protected static void Validate(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        double sumSq = 0;
        foreach (float e in expected) sumSq += (double)e * e;
        double floor = Math.Sqrt(sumSq / Math.Max(1, expected.Length));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), floor);
            if (!(err <= tolerance))
                throw new InvalidOperationException($"{what}: element {i} is {actual[i]}, reference {expected[i]}; not timing a wrong kernel");
        }
    }

    protected static float[] RandomArray(int length, int seed, float scale = 1)
    {
        var random = new Random(seed);
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = scale * (float)(2 * random.NextDouble() - 1) + scale / 64; // never all zeros
        return a;
    }
}

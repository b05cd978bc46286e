using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks.Gpu;

/// <summary>
/// The GPU benchmarks' configuration: the in-process toolchain always (the GPU host has a .NET runtime but no SDK
/// to build the usual child process, and the device context lives in this process), a short job (3 warm-ups, 10
/// iterations of about 200 ms: the whole suite must fit in minutes of rented GPU), and the columns.
/// </summary>
public class GpuConfig : ManualConfig
{
    public GpuConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(3)
            .WithIterationCount(10)
            .WithIterationTime(TimeInterval.FromMilliseconds(200))
            .WithId("gpu"));
        AddColumn(StatisticColumn.Median, GpuColumns.GigabytesPerSecond, GpuColumns.PercentOfCopy, GpuColumns.TeraflopsPerSecond,
            GpuColumns.PercentOfCuBlas);
    }
}

/// <summary>
/// GB/s = bytes read + written / median time (1 GB = 1e9 B); TFLOP/s = floating-point operations / median time; "% of
/// copy" = GB/s / the same class's DeviceCopy GB/s at the same parameters; "% of cuBLAS" = cuBLAS's median time / ours
/// at the same parameters. Work per invocation comes from <see cref="GpuBenchmark.Work"/> on an instance made with the
/// case's parameters (no device needed).
/// </summary>
public sealed class GpuColumns : IColumn
{
    public static readonly GpuColumns GigabytesPerSecond = new("GB/s", "Bytes read + written / median time (1 GB = 1e9 B)", Kind.GBps);
    public static readonly GpuColumns PercentOfCopy = new("% of copy", "GB/s over the device-to-device copy's GB/s, same class and parameters", Kind.Copy);
    public static readonly GpuColumns TeraflopsPerSecond = new("TFLOP/s", "Floating-point operations / median time (1 TFLOP = 1e12)", Kind.Tflops);
    public static readonly GpuColumns PercentOfCuBlas = new("% of cuBLAS", "cuBLAS median time / this median time, same parameters", Kind.CuBlas);

    public enum Kind { GBps, Copy, Tflops, CuBlas }

    static readonly ConcurrentDictionary<(Type, string, string), (double Bytes, double Flops)> WorkCache = new();

    readonly Kind kind;

    GpuColumns(string name, string legend, Kind kind) => (ColumnName, Legend, this.kind) = (name, legend, kind);

    public string Id => "Gpu" + kind;
    public string ColumnName { get; }
    public string Legend { get; }
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => (int)kind;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public override string ToString() => ColumnName;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        double? median = summary[benchmarkCase]?.ResultStatistics?.Median; // ns
        if (median is not > 0) return "-";
        if (GpuDevices.IsSimulated || Environment.GetEnvironmentVariable(GpuBenchmark.DeviceVariable) == GpuDevices.SimulatedName)
            return "sim"; // the simulated device ran tiny sizes (GpuBenchmark.Open): no figure
        var (bytes, flops) = Work(benchmarkCase);
        switch (kind)
        {
            case Kind.GBps:
                return bytes > 0 ? Format(bytes / median.Value) : "-"; // bytes per ns = GB/s
            case Kind.Tflops:
                return flops > 0 ? Format(flops / median.Value / 1e3) : "-"; // flops per ns = GFLOP/s
            case Kind.Copy:
            {
                if (bytes <= 0 || benchmarkCase.Descriptor.WorkloadMethod.Name == "DeviceCopy") return "-";
                var copy = Sibling(summary, benchmarkCase, "DeviceCopy");
                double? copyMedian = copy is null ? null : summary[copy]?.ResultStatistics?.Median;
                if (copy is null || copyMedian is not > 0) return "-";
                double copyGBps = Work(copy).Bytes / copyMedian.Value;
                return Format(100 * (bytes / median.Value) / copyGBps) + "%";
            }
            default:
            {
                if (benchmarkCase.Descriptor.WorkloadMethod.Name == "CuBlasGemm") return "-";
                var cuBlas = Sibling(summary, benchmarkCase, "CuBlasGemm");
                double? cuBlasMedian = cuBlas is null ? null : summary[cuBlas]?.ResultStatistics?.Median;
                return cuBlasMedian is > 0 ? Format(100 * cuBlasMedian.Value / median.Value) + "%" : "-";
            }
        }
    }

    static BenchmarkCase? Sibling(Summary summary, BenchmarkCase benchmarkCase, string method) =>
        summary.BenchmarksCases.FirstOrDefault(c =>
            c.Descriptor.Type == benchmarkCase.Descriptor.Type
            && c.Descriptor.WorkloadMethod.Name == method
            && c.Parameters.DisplayInfo == benchmarkCase.Parameters.DisplayInfo);

    static string Format(double value) => value.ToString(value >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture);

    /// <summary>The work of one invocation, from an instance given the case's parameters (GlobalSetup is not run).</summary>
    public static (double Bytes, double Flops) Work(BenchmarkCase benchmarkCase)
    {
        var type = benchmarkCase.Descriptor.Type;
        string method = benchmarkCase.Descriptor.WorkloadMethod.Name;
        return WorkCache.GetOrAdd((type, method, benchmarkCase.Parameters.DisplayInfo), _ =>
        {
            if (!typeof(GpuBenchmark).IsAssignableFrom(type)) return (0, 0);
            var instance = (GpuBenchmark)Activator.CreateInstance(type)!;
            foreach (var parameter in benchmarkCase.Parameters.Items)
                SetMember(instance, parameter.Name, parameter.Value);
            return instance.Work(method);
        });
    }

    internal static void SetMember(object instance, string name, object? value)
    {
        const BindingFlags flags = BindingFlags.Instance | BindingFlags.Public;
        var type = instance.GetType();
        if (type.GetField(name, flags) is { } field) field.SetValue(instance, value);
        else type.GetProperty(name, flags)?.SetValue(instance, value);
    }
}

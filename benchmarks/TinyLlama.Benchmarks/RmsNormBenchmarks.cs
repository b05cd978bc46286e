using BenchmarkDotNet.Attributes;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks;

/// <summary>
/// RMSNorm at Llama sizes (tokens × C). Bytes counted: forward reads x and writes y (8 per element);
/// backward reads dy and x and writes dx (12 per element).
/// </summary>
[Config(typeof(MemoryBoundConfig))]
public class RmsNormBenchmarks : MemoryBoundBenchmark
{
    [Params(4096, 8192)] public int Rows;
    [Params(2048)] public int Cols;

    float[] x = [], weight = [], y = [], invRms = [], dy = [], dx = [], dWeight = [];

    [GlobalSetup]
    public void Setup()
    {
        int n = Rows * Cols;
        (x, weight, dy) = (RandomArray(n, 1, 2), RandomArray(Cols, 2), RandomArray(n, 3));
        (y, invRms, dx, dWeight) = (new float[n], new float[Rows], new float[n], new float[Cols]);
        SetUpCopy(n);

        // Validate on the first rows: the fast kernel must match the scalar reference before it is timed.
        const int rows = 8;
        int m = rows * Cols;
        var (yRef, invRef) = (new float[m], new float[rows]);
        RmsNorm.ForwardReference<float>(x.AsSpan(0, m), weight, yRef, invRef, rows, Cols, 1e-5f);
        RmsNorm.Forward<float>(x.AsSpan(0, m), weight, y.AsSpan(0, m), invRms.AsSpan(0, rows), rows, Cols, 1e-5f);
        Validate(yRef, y.AsSpan(0, m), 1e-4, "RmsNorm.Forward");
        var (dxRef, dwRef, dw) = (new float[m], new float[Cols], new float[Cols]);
        RmsNorm.BackwardReference<float>(dy.AsSpan(0, m), x.AsSpan(0, m), weight, invRef, dxRef, dwRef, rows, Cols);
        RmsNorm.Backward<float>(dy.AsSpan(0, m), x.AsSpan(0, m), weight, invRef, dx.AsSpan(0, m), dw, rows, Cols);
        Validate(dxRef, dx.AsSpan(0, m), 1e-4, "RmsNorm.Backward dx");
        Validate(dwRef, dw, 1e-4, "RmsNorm.Backward dWeight");

        RmsNorm.Forward<float>(x, weight, y, invRms, Rows, Cols, 1e-5f); // invRms for the backward benchmark
    }

    [Benchmark, BytesPerElement(8)]
    public void Forward() => RmsNorm.Forward<float>(x, weight, y, invRms, Rows, Cols, 1e-5f);

    [Benchmark, BytesPerElement(12)]
    public void Backward() => RmsNorm.Backward<float>(dy, x, weight, invRms, dx, dWeight, Rows, Cols);
}

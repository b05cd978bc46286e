using BenchmarkDotNet.Attributes;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks;

/// <summary>
/// Softmax over rows of attention-score or logit width. Bytes counted: forward reads x and writes y (8 per
/// element); backward reads y and dy and writes dx (12 per element).
/// </summary>
[Config(typeof(MemoryBoundConfig))]
public class SoftmaxBenchmarks : MemoryBoundBenchmark
{
    // Rows of score width (T = 2048) and of logit width (V = 32000); each buffer is about 64 MB, past the L3.
    public static IEnumerable<MatrixShape> Shapes => [new(8192, 2048), new(512, 32000)];

    [ParamsSource(nameof(Shapes))] public MatrixShape Shape = new(1, 1);

    int Rows => Shape.Rows;
    int Cols => Shape.Cols;

    float[] x = [], y = [], dy = [], dx = [];

    [GlobalSetup]
    public void Setup()
    {
        int n = Rows * Cols;
        (x, dy) = (RandomArray(n, 1, 8), RandomArray(n, 2));
        (y, dx) = (new float[n], new float[n]);
        SetUpCopy(n);

        const int rows = 4;
        int m = rows * Cols;
        var yRef = new float[m];
        Softmax.ForwardReference<float>(x.AsSpan(0, m), yRef, rows, Cols);
        Softmax.Forward<float>(x.AsSpan(0, m), y.AsSpan(0, m), rows, Cols);
        Validate(yRef, y.AsSpan(0, m), 1e-4, "Softmax.Forward");
        var dxRef = new float[m];
        Softmax.BackwardReference<float>(yRef, dy.AsSpan(0, m), dxRef, rows, Cols);
        Softmax.Backward<float>(yRef, dy.AsSpan(0, m), dx.AsSpan(0, m), rows, Cols);
        Validate(dxRef, dx.AsSpan(0, m), 1e-4, "Softmax.Backward");

        Softmax.Forward<float>(x, y, Rows, Cols);
    }

    [Benchmark, BytesPerElement(8)]
    public void Forward() => Softmax.Forward<float>(x, y, Rows, Cols);

    [Benchmark, BytesPerElement(12)]
    public void Backward() => Softmax.Backward<float>(y, dy, dx, Rows, Cols);
}

using BenchmarkDotNet.Attributes;
using ILGPU;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks.Gpu;

/// <summary>
/// RMSNorm on the GPU at rows = B·T = 16384, C = 2048, f32 and bf16 storage. Bytes: forward reads x, writes y;
/// backward reads dy and x, writes dx (the (C) vectors, invRms and the dWeight partials are under 1 % and left out).
/// Validated on the first 8 rows (y, invRms, dx) against the scalar reference; dWeight, which sums every row, is
/// covered by <c>selftest --device cuda</c>.
/// </summary>
[Config(typeof(GpuConfig))]
public class RmsNormGpuBenchmarks : GpuMemoryBoundBenchmark
{
    const float Eps = 1e-5f;

    [Params(16384)] public int Rows;
    [Params(2048)] public int Cols;
    [Params(false, true)] public bool Bf16;

    ArrayView<float> x32, w32, y32, dy32, dx32, dw32, invRms, scratch;
    ArrayView<ushort> x16, w16, y16, dy16, dx16, dw16;

    public override long CopyBytes => (long)Rows * Cols * ElementSize(Bf16);

    public override (double Bytes, double Flops) Work(string method) => method switch
    {
        nameof(Forward) => (2.0 * CopyBytes, 0),
        nameof(Backward) => (3.0 * CopyBytes, 0),
        _ => base.Work(method),
    };

    public override void UseSmokeSizes() => (Rows, Cols) = (5, 37);

    RmsNormGpu Kernel => Device.Kernels.Get<RmsNormGpu>();

    [GlobalSetup]
    public void Setup()
    {
        Open();
        long n = (long)Rows * Cols;
        invRms = Zeros32(Rows);
        scratch = Zeros32(Kernel.BackwardScratchLength(Rows, Cols));
        if (Bf16) (x16, w16, y16, dy16, dx16, dw16) = (RandomBf16(n, 1, 2), RandomBf16(Cols, 2), Zeros16(n), RandomBf16(n, 3), Zeros16(n), Zeros16(Cols));
        else (x32, w32, y32, dy32, dx32, dw32) = (Random32(n, 1, 2), Random32(Cols, 2), Zeros32(n), Random32(n, 3), Zeros32(n), Zeros32(Cols));

        int rows = Math.Min(Rows, 8), m = rows * Cols;
        var (x, w, dy) = (Expected(1, m, Bf16, 2), Expected(2, Cols, Bf16), Expected(3, m, Bf16));
        var (yRef, invRef) = (new float[m], new float[rows]);
        RmsNorm.ForwardReference<float>(x, w, yRef, invRef, rows, Cols, Eps);
        Forward();
        Validate(yRef, Bf16 ? Download(y16, m) : Download(y32, m), Tolerance(Bf16), "RmsNormGpu.Forward y");
        Validate(invRef, Download(invRms, rows), 1e-4, "RmsNormGpu.Forward invRms");
        var (dxRef, dwRef) = (new float[m], new float[Cols]);
        RmsNorm.BackwardReference<float>(dy, x, w, Download(invRms, rows), dxRef, dwRef, rows, Cols);
        Backward();
        Validate(dxRef, Bf16 ? Download(dx16, m) : Download(dx32, m), Tolerance(Bf16), "RmsNormGpu.Backward dx");
    }

    [Benchmark]
    public void Forward()
    {
        if (Bf16) Kernel.Forward(Stream, x16, w16, y16, invRms, Rows, Cols, Eps);
        else Kernel.Forward(Stream, x32, w32, y32, invRms, Rows, Cols, Eps);
        Stream.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        if (Bf16) Kernel.Backward(Stream, dy16, x16, w16, invRms, dx16, dw16, scratch, Rows, Cols);
        else Kernel.Backward(Stream, dy32, x32, w32, invRms, dx32, dw32, scratch, Rows, Cols);
        Stream.Synchronize();
    }
}

/// <summary>
/// Row softmax on the GPU at 16384 × 2048 (attention-probability-like rows), f32 and bf16. Bytes: forward reads x and
/// writes y; backward reads y and dy and writes dx. Validated on the first 8 rows.
/// </summary>
[Config(typeof(GpuConfig))]
public class SoftmaxGpuBenchmarks : GpuMemoryBoundBenchmark
{
    [Params(16384)] public int Rows;
    [Params(2048)] public int Cols;
    [Params(false, true)] public bool Bf16;

    ArrayView<float> x32, y32, dy32, dx32;
    ArrayView<ushort> x16, y16, dy16, dx16;

    public override long CopyBytes => (long)Rows * Cols * ElementSize(Bf16);

    public override (double Bytes, double Flops) Work(string method) => method switch
    {
        nameof(Forward) => (2.0 * CopyBytes, 0),
        nameof(Backward) => (3.0 * CopyBytes, 0),
        _ => base.Work(method),
    };

    public override void UseSmokeSizes() => (Rows, Cols) = (5, 37);

    SoftmaxGpu Kernel => Device.Kernels.Get<SoftmaxGpu>();

    [GlobalSetup]
    public void Setup()
    {
        Open();
        long n = (long)Rows * Cols;
        if (Bf16) (x16, y16, dy16, dx16) = (RandomBf16(n, 1, 4), Zeros16(n), RandomBf16(n, 2), Zeros16(n));
        else (x32, y32, dy32, dx32) = (Random32(n, 1, 4), Zeros32(n), Random32(n, 2), Zeros32(n));

        int rows = Math.Min(Rows, 8), m = rows * Cols;
        var yRef = new float[m];
        Softmax.ForwardReference<float>(Expected(1, m, Bf16, 4), yRef, rows, Cols);
        Forward();
        var y = Bf16 ? Download(y16, m) : Download(y32, m);
        Validate(yRef, y, Tolerance(Bf16), "SoftmaxGpu.Forward");
        var dxRef = new float[m];
        Softmax.BackwardReference<float>(y, Expected(2, m, Bf16), dxRef, rows, Cols);
        Backward();
        Validate(dxRef, Bf16 ? Download(dx16, m) : Download(dx32, m), Tolerance(Bf16), "SoftmaxGpu.Backward");
    }

    [Benchmark]
    public void Forward()
    {
        if (Bf16) Kernel.Forward(Stream, x16, y16, Rows, Cols);
        else Kernel.Forward(Stream, x32, y32, Rows, Cols);
        Stream.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        if (Bf16) Kernel.Backward(Stream, y16, dy16, dx16, Rows, Cols);
        else Kernel.Backward(Stream, y32, dy32, dx32, Rows, Cols);
        Stream.Synchronize();
    }
}

/// <summary>
/// Cross-entropy on the GPU at rows = 16384, V = 32000 (logits 2.1 GB in f32), f32 and bf16 logits. Bytes: forward
/// reads the logits (the mean's pass over rows is negligible); backward reads the logits and writes dLogits. Targets
/// are all valid (no ignored rows: the worst case). Validated on the first 8 rows (lse, dLogits) and the count.
/// </summary>
[Config(typeof(GpuConfig))]
public class CrossEntropyGpuBenchmarks : GpuMemoryBoundBenchmark
{
    const int Ignore = -100;

    [Params(16384)] public int Rows;
    [Params(32000)] public int Vocab;
    [Params(false, true)] public bool Bf16;

    ArrayView<float> logits32, dLogits32, lse, rowLoss, meanLoss;
    ArrayView<ushort> logits16, dLogits16;
    ArrayView<int> targets, count;

    public override long CopyBytes => (long)Rows * Vocab * ElementSize(Bf16);

    public override (double Bytes, double Flops) Work(string method) => method switch
    {
        nameof(Forward) => (1.0 * CopyBytes, 0),
        nameof(Backward) => (2.0 * CopyBytes, 0),
        _ => base.Work(method),
    };

    public override void UseSmokeSizes() => (Rows, Vocab) = (4, 53);

    CrossEntropyGpu Kernel => Device.Kernels.Get<CrossEntropyGpu>();

    [GlobalSetup]
    public void Setup()
    {
        Open();
        long n = (long)Rows * Vocab;
        if (Bf16) (logits16, dLogits16) = (RandomBf16(n, 1, 4), Zeros16(n));
        else (logits32, dLogits32) = (Random32(n, 1, 4), Zeros32(n));
        targets = Integers(Rows, Vocab, 2);
        (lse, rowLoss, meanLoss, count) = (Zeros32(Rows), Zeros32(Rows), Zeros32(1), Integers(1, 1, 3));

        int rows = Math.Min(Rows, 8), m = rows * Vocab;
        var logits = Expected(1, m, Bf16, 4);
        var hostTargets = Download(targets, rows);
        var lseRef = new float[rows];
        CrossEntropy.ForwardReference<float>(logits, hostTargets, lseRef, rows, Vocab, Ignore, out _);
        Forward();
        Validate(lseRef, Download(lse, rows), 1e-4, "CrossEntropyGpu.Forward logSumExp");
        if (Download(count, 1)[0] != Rows) throw new InvalidOperationException($"CrossEntropyGpu.Forward: count {Download(count, 1)[0]}, expected {Rows}");
        var dRef = new float[m];
        CrossEntropy.BackwardReference<float>(logits, hostTargets, lseRef, 1f / Rows, dRef, rows, Vocab, Ignore);
        Backward();
        Validate(dRef, Bf16 ? Download(dLogits16, m) : Download(dLogits32, m), Tolerance(Bf16), "CrossEntropyGpu.Backward dLogits");
    }

    [Benchmark]
    public void Forward()
    {
        if (Bf16) Kernel.Forward(Stream, logits16, targets, lse, rowLoss, meanLoss, count, Rows, Vocab, Ignore);
        else Kernel.Forward(Stream, logits32, targets, lse, rowLoss, meanLoss, count, Rows, Vocab, Ignore);
        Stream.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        if (Bf16) Kernel.Backward(Stream, logits16, targets, lse, 1f / Rows, dLogits16, Rows, Vocab, Ignore);
        else Kernel.Backward(Stream, logits32, targets, lse, 1f / Rows, dLogits32, Rows, Vocab, Ignore);
        Stream.Synchronize();
    }
}

using BenchmarkDotNet.Attributes;
using ILGPU;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks.Gpu;

/// <summary>
/// SwiGLU on the GPU over TinyLlama's MLP hidden activations: rows = 16384 tokens × 5632, f32 and bf16. Bytes: forward
/// reads gate and up, writes y (3 buffers); backward reads gate, up, dy, writes dGate, dUp (5). Validated on the
/// first 16384 elements.
/// </summary>
[Config(typeof(GpuConfig))]
public class SwiGluGpuBenchmarks : GpuMemoryBoundBenchmark
{
    [Params(16384)] public int Rows;
    [Params(5632)] public int Cols;
    [Params(false, true)] public bool Bf16;

    ArrayView<float> gate32, up32, y32, dy32, dGate32, dUp32;
    ArrayView<ushort> gate16, up16, y16, dy16, dGate16, dUp16;

    public override long CopyBytes => (long)Rows * Cols * ElementSize(Bf16);

    public override (double Bytes, double Flops) Work(string method) => method switch
    {
        nameof(Forward) => (3.0 * CopyBytes, 0),
        nameof(Backward) => (5.0 * CopyBytes, 0),
        _ => base.Work(method),
    };

    public override void UseSmokeSizes() => (Rows, Cols) = (3, 37);

    SwiGluGpu Kernel => Device.Kernels.Get<SwiGluGpu>();

    [GlobalSetup]
    public void Setup()
    {
        Open();
        long n = (long)Rows * Cols;
        if (Bf16)
            (gate16, up16, y16, dy16, dGate16, dUp16) = (RandomBf16(n, 1, 3), RandomBf16(n, 2), Zeros16(n), RandomBf16(n, 3), Zeros16(n), Zeros16(n));
        else
            (gate32, up32, y32, dy32, dGate32, dUp32) = (Random32(n, 1, 3), Random32(n, 2), Zeros32(n), Random32(n, 3), Zeros32(n), Zeros32(n));

        int m = (int)Math.Min(n, 16384);
        var (gate, up, dy) = (Expected(1, m, Bf16, 3), Expected(2, m, Bf16), Expected(3, m, Bf16));
        var yRef = new float[m];
        SwiGlu.ForwardReference<float>(gate, up, yRef);
        Forward();
        Validate(yRef, Bf16 ? Download(y16, m) : Download(y32, m), Tolerance(Bf16), "SwiGluGpu.Forward");
        var (dGateRef, dUpRef) = (new float[m], new float[m]);
        SwiGlu.BackwardReference<float>(gate, up, dy, dGateRef, dUpRef);
        Backward();
        Validate(dGateRef, Bf16 ? Download(dGate16, m) : Download(dGate32, m), Tolerance(Bf16), "SwiGluGpu.Backward dGate");
        Validate(dUpRef, Bf16 ? Download(dUp16, m) : Download(dUp32, m), Tolerance(Bf16), "SwiGluGpu.Backward dUp");
    }

    [Benchmark]
    public void Forward()
    {
        if (Bf16) Kernel.Forward(Stream, gate16, up16, y16);
        else Kernel.Forward(Stream, gate32, up32, y32);
        Stream.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        if (Bf16) Kernel.Backward(Stream, gate16, up16, dy16, dGate16, dUp16);
        else Kernel.Backward(Stream, gate32, up32, dy32, dGate32, dUp32);
        Stream.Synchronize();
    }
}

/// <summary>
/// RoPE as the model runs it on the GPU: q (B, T, H, Hs) and k (B, T, KvH, Hs) rotated in place in one launch, B=8,
/// T=2048, H=32, KvH=4, Hs=64, f32 and bf16. Bytes: q and k read and written (the cos/sin tables, 0.5 MB, left out).
/// Repeated rotation in place keeps the values bounded (a rotation keeps norms). Validated on the first launch, on
/// the first 8 positions of q and k.
/// </summary>
[Config(typeof(GpuConfig))]
public class RopeGpuBenchmarks : GpuMemoryBoundBenchmark
{
    [Params(8)] public int Batch;
    [Params(2048)] public int SeqLen;
    [Params(32)] public int Heads;
    [Params(4)] public int KvHeads;
    [Params(64)] public int HeadSize;
    [Params(false, true)] public bool Bf16;

    ArrayView<float> q32, k32, cos, sin;
    ArrayView<ushort> q16, k16;

    long QCount => (long)Batch * SeqLen * Heads * HeadSize;
    long KCount => (long)Batch * SeqLen * KvHeads * HeadSize;

    public override long CopyBytes => (QCount + KCount) * ElementSize(Bf16);

    public override (double Bytes, double Flops) Work(string method) => method == nameof(ForwardInPlace) ? (2.0 * CopyBytes, 0) : base.Work(method);

    public override void UseSmokeSizes() => (Batch, SeqLen, Heads, KvHeads, HeadSize) = (1, 5, 4, 2, 8);

    [GlobalSetup]
    public void Setup()
    {
        Open();
        var (cosHost, sinHost) = (new float[SeqLen * HeadSize / 2], new float[SeqLen * HeadSize / 2]); // (T, Hs/2)
        Rope.Tables<float>(SeqLen, HeadSize, 10000.0, cosHost, sinHost);
        (cos, sin) = (Zeros32(cosHost.Length), Zeros32(sinHost.Length));
        Device.Transfers.Upload<float>(cosHost, cos);
        Device.Transfers.Upload<float>(sinHost, sin);
        if (Bf16) (q16, k16) = (RandomBf16(QCount, 1), RandomBf16(KCount, 2));
        else (q32, k32) = (Random32(QCount, 1), Random32(KCount, 2));

        int positions = Math.Min(SeqLen, 8);
        int qm = positions * Heads * HeadSize, km = positions * KvHeads * HeadSize;
        var (qRef, kRef) = (new float[qm], new float[km]);
        Rope.ForwardReference<float>(Expected(1, qm, Bf16), qRef, 1, positions, Heads, HeadSize, cosHost, sinHost, 0);
        Rope.ForwardReference<float>(Expected(2, km, Bf16), kRef, 1, positions, KvHeads, HeadSize, cosHost, sinHost, 0);
        ForwardInPlace();
        Validate(qRef, Bf16 ? Download(q16, qm) : Download(q32, qm), Tolerance(Bf16), "RopeGpu.ApplyInPlace q");
        Validate(kRef, Bf16 ? Download(k16, km) : Download(k32, km), Tolerance(Bf16), "RopeGpu.ApplyInPlace k");
    }

    [Benchmark]
    public void ForwardInPlace()
    {
        var kernel = Device.Kernels.Get<RopeGpu>();
        if (Bf16) kernel.ApplyInPlace(Stream, q16, k16, Batch, SeqLen, Heads, KvHeads, HeadSize, cos, sin, 0);
        else kernel.ApplyInPlace(Stream, q32, k32, Batch, SeqLen, Heads, KvHeads, HeadSize, cos, sin, 0);
        Stream.Synchronize();
    }
}

/// <summary>
/// One AdamW step on the GPU over 256M parameters (a quarter of TinyLlama-1.1B, 7 GB of state), f32 master weights and
/// moments, f32 or bf16 gradients, writing the bf16 copy of the weights as training does. Bytes per parameter: read
/// param, grad, m, v; write param, m, v and the bf16 copy (26 + grad size). Validated after the first step on the
/// first 65536 parameters against <see cref="AdamW.StepReference"/>.
/// </summary>
[Config(typeof(GpuConfig))]
public class AdamWGpuBenchmarks : GpuMemoryBoundBenchmark
{
    const float Lr = 3e-4f, Beta1 = 0.9f, Beta2 = 0.95f, Eps = 1e-8f, Decay = 0.1f;

    [Params(256L << 20)] public long Count;
    [Params(false, true)] public bool Bf16Grads;

    ArrayView<float> param, grad32, m, v;
    ArrayView<ushort> grad16, copy;

    public override long CopyBytes => Count * 4;

    public override (double Bytes, double Flops) Work(string method) =>
        method == nameof(Step) ? (Count * (26.0 + ElementSize(Bf16Grads)), 0) : base.Work(method);

    public override void UseSmokeSizes() => Count = 4099;

    [GlobalSetup]
    public void Setup()
    {
        Open();
        (param, m, v, copy) = (Random32(Count, 1), Random32(Count, 3, 0.1f), Zeros32(Count), Zeros16(Count));
        AbsOnDevice(v); // a second moment is never negative
        if (Bf16Grads) grad16 = RandomBf16(Count, 2);
        else grad32 = Random32(Count, 2);

        int n = (int)Math.Min(Count, 65536);
        var (p, g, mm, vv) = (Expected(1, n, false), Expected(2, n, Bf16Grads), Expected(3, n, false, 0.1f), Expected(4, n, false, 0.01f));
        vv = vv.Select(MathF.Abs).ToArray();
        AdamW.StepReference(p, g, mm, vv, Lr, Beta1, Beta2, Eps, Decay, 1);
        Step();
        Validate(p, Download(param, n), 1e-5, "AdamWGpu.Step param");
        Validate(mm, Download(m, n), 1e-5, "AdamWGpu.Step m");
        Validate(vv, Download(v, n), 1e-5, "AdamWGpu.Step v");
        Validate(p.Select(x => BFloat16.ToFloat(BFloat16.FromFloat(x))).ToArray(), Download(copy, n), 1e-2, "AdamWGpu.Step bf16 copy");
    }

    void AbsOnDevice(ArrayView<float> view)
    {
        var chunk = HostValues(4, 0.01f).Select(MathF.Abs).ToArray();
        for (long done = 0; done < view.Length; done += chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, view.Length - done);
            Device.Transfers.Upload<float>(chunk.AsSpan(0, n), view.SubView(done, n));
        }
    }

    [Benchmark]
    public void Step()
    {
        var kernel = Device.Kernels.Get<AdamWGpu>();
        if (Bf16Grads) kernel.Step(Stream, param, grad16, m, v, Lr, Beta1, Beta2, Eps, Decay, 1, copy);
        else kernel.Step(Stream, param, grad32, m, v, Lr, Beta1, Beta2, Eps, Decay, 1, copy);
        Stream.Synchronize();
    }
}

/// <summary>
/// Embedding lookup and scatter-add on the GPU: V = 32000, C = 2048, 16384 tokens (ids uniform over the vocabulary),
/// f32 and bf16 (the bf16 backward accumulates into an f32 table gradient, as training does). Bytes: forward reads
/// and writes tokens·C elements; backward reads dOutput and reads and writes tokens·C f32 of the table gradient.
/// Forward is validated on the first 8 tokens; backward on a launch over the first 8 tokens into a zeroed gradient.
/// </summary>
[Config(typeof(GpuConfig))]
public class EmbeddingGpuBenchmarks : GpuMemoryBoundBenchmark
{
    [Params(32000)] public int Vocab;
    [Params(2048)] public int Channels;
    [Params(16384)] public int Tokens;
    [Params(false, true)] public bool Bf16;

    ArrayView<float> table32, out32, dOut32, dTable;
    ArrayView<ushort> table16, out16, dOut16;
    ArrayView<int> ids;

    public override long CopyBytes => (long)Tokens * Channels * ElementSize(Bf16);

    public override (double Bytes, double Flops) Work(string method) => method switch
    {
        nameof(Forward) => (2.0 * CopyBytes, 0),
        nameof(Backward) => (CopyBytes + 8.0 * Tokens * Channels, 0),
        _ => base.Work(method),
    };

    public override void UseSmokeSizes() => (Vocab, Channels, Tokens) = (11, 7, 9);

    EmbeddingGpu Kernel => Device.Kernels.Get<EmbeddingGpu>();

    [GlobalSetup]
    public void Setup()
    {
        Open();
        long tableCount = (long)Vocab * Channels, outCount = (long)Tokens * Channels;
        ids = Integers(Tokens, Vocab, 5);
        dTable = Zeros32(tableCount);
        if (Bf16) (table16, out16, dOut16) = (RandomBf16(tableCount, 1), Zeros16(outCount), RandomBf16(outCount, 2));
        else (table32, out32, dOut32) = (Random32(tableCount, 1), Zeros32(outCount), Random32(outCount, 2));

        int tokens = Math.Min(Tokens, 8);
        var hostIds = Download(ids, tokens);
        var table = HostValues(1);
        var expected = new float[tokens * Channels];
        for (int t = 0; t < tokens; t++)
            for (int c = 0; c < Channels; c++)
            {
                float value = table[(int)(((long)hostIds[t] * Channels + c) % RandomChunk)];
                expected[t * Channels + c] = Bf16 ? BFloat16.ToFloat(BFloat16.FromFloat(value)) : value;
            }
        Forward();
        Validate(expected, Bf16 ? Download(out16, expected.Length) : Download(out32, expected.Length), 1e-6, "EmbeddingGpu.Forward");

        // Backward over the first tokens into a zeroed gradient: each touched row must equal the sum of its tokens' dOutput rows.
        var dOut = Expected(2, tokens * Channels, Bf16);
        var idSlice = ids.SubView(0, tokens);
        if (Bf16) Kernel.Backward(Stream, dOut16.SubView(0, (long)tokens * Channels), idSlice, dTable, Vocab, Channels);
        else Kernel.Backward(Stream, dOut32.SubView(0, (long)tokens * Channels), idSlice, dTable, Vocab, Channels);
        foreach (int id in hostIds.Distinct())
        {
            var rowRef = new float[Channels];
            for (int t = 0; t < tokens; t++)
                if (hostIds[t] == id)
                    for (int c = 0; c < Channels; c++) rowRef[c] += dOut[t * Channels + c];
            var row = new float[Channels];
            Device.Transfers.Download(dTable.SubView((long)id * Channels, Channels), row);
            Validate(rowRef, row, 1e-5, $"EmbeddingGpu.Backward row {id}");
        }
    }

    [Benchmark]
    public void Forward()
    {
        if (Bf16) Kernel.Forward(Stream, table16, ids, out16, Vocab, Channels);
        else Kernel.Forward(Stream, table32, ids, out32, Vocab, Channels);
        Stream.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        if (Bf16) Kernel.Backward(Stream, dOut16, ids, dTable, Vocab, Channels);
        else Kernel.Backward(Stream, dOut32, ids, dTable, Vocab, Channels);
        Stream.Synchronize();
    }
}

/// <summary>
/// Reductions on the GPU: the sum of each row of a 16384 × 2048 matrix, and the sum of all of it, f32 and bf16.
/// Bytes: the input once (the outputs are negligible). Validated on the first 8 rows and the whole sum (against
/// the double reference on the same repeated data).
/// </summary>
[Config(typeof(GpuConfig))]
public class ReduceGpuBenchmarks : GpuMemoryBoundBenchmark
{
    [Params(16384)] public int Rows;
    [Params(2048)] public int Cols;
    [Params(false, true)] public bool Bf16;

    ArrayView<float> x32, rows32, all32;
    ArrayView<ushort> x16, rows16, all16;

    public override long CopyBytes => (long)Rows * Cols * ElementSize(Bf16);

    public override (double Bytes, double Flops) Work(string method) =>
        method is nameof(SumRows) or nameof(SumAll) ? (1.0 * CopyBytes, 0) : base.Work(method);

    public override void UseSmokeSizes() => (Rows, Cols) = (3, 37);

    ReduceGpu Kernel => Device.Kernels.Get<ReduceGpu>();

    [GlobalSetup]
    public void Setup()
    {
        Open();
        long n = (long)Rows * Cols;
        if (Bf16) (x16, rows16, all16) = (RandomBf16(n, 1), Zeros16(Rows), Zeros16(1));
        else (x32, rows32, all32) = (Random32(n, 1), Zeros32(Rows), Zeros32(1));

        int rows = Math.Min(Rows, 8);
        var rowRef = new float[rows];
        Reduce.RowsReference(Expected(1, rows * Cols, Bf16), rowRef, Cols, ReduceOp.Sum);
        SumRows();
        Validate(rowRef, Bf16 ? Download(rows16, rows) : Download(rows32, rows), Tolerance(Bf16), "ReduceGpu.Rows");

        var chunk = Expected(1, (int)Math.Min(n, RandomChunk), Bf16);
        double total = 0;
        for (long done = 0; done < n; done += chunk.Length)
            total += Reduce.AllReference(chunk.AsSpan(0, (int)Math.Min(chunk.Length, n - done)), ReduceOp.Sum);
        SumAll();
        Validate([(float)total], Bf16 ? Download(all16, 1) : Download(all32, 1), Tolerance(Bf16), "ReduceGpu.All");
    }

    [Benchmark]
    public void SumRows()
    {
        if (Bf16) Kernel.Rows(Stream, x16, rows16, Cols, ReduceOp.Sum);
        else Kernel.Rows(Stream, x32, rows32, Cols, ReduceOp.Sum);
        Stream.Synchronize();
    }

    [Benchmark]
    public void SumAll()
    {
        if (Bf16) Kernel.All(Stream, x16, all16, ReduceOp.Sum);
        else Kernel.All(Stream, x32, all32, ReduceOp.Sum);
        Stream.Synchronize();
    }
}

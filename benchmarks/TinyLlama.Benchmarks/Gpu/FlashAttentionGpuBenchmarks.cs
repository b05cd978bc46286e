using BenchmarkDotNet.Attributes;
using ILGPU;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks.Gpu;

/// <summary>
/// FlashAttention-2 forward and backward on the GPU at TinyLlama's attention: B=8, H=32, KvH=4, T=2048, Hs=64,
/// causal, bf16 storage. FLOPs follow FlashAttention-2's benchmark and <c>tools/reference/sdpa_bench.py</c>, which
/// times PyTorch's SDPA at the same shape and is the comparator: forward 4·B·H·T²·Hs / 2 (two T×T×Hs products, half
/// of them masked), backward 2.5 × forward. Backward here is our backward kernel alone (dq, dk, dv from the saved
/// output and lse), whereas sdpa_bench.py reports fwd+bwd minus a no-grad forward; compare with that in mind.
/// Validated before timing on batch 0 and the query heads of kv head 0 (output, dq, dk, dv) against the CPU
/// attention on the same bf16 values, tolerance 1e-2.
/// </summary>
[Config(typeof(GpuConfig))]
public class FlashAttentionGpuBenchmarks : GpuBenchmark
{
    [Params(8)] public int Batch;
    [Params(32)] public int Heads;
    [Params(4)] public int KvHeads;
    [Params(2048)] public int SeqLen;
    [Params(64)] public int HeadSize;

    ArrayView<ushort> q, k, v, output, dOutput, dq, dk, dv;
    ArrayView<float> lse, workspace;

    double ForwardFlops => 4.0 * Batch * Heads * SeqLen * (double)SeqLen * HeadSize / 2;

    public override (double Bytes, double Flops) Work(string method) => method switch
    {
        nameof(Forward) => (0, ForwardFlops),
        nameof(Backward) => (0, 2.5 * ForwardFlops),
        _ => base.Work(method),
    };

    public override void UseSmokeSizes() => (Batch, Heads, KvHeads, SeqLen, HeadSize) = (1, 2, 1, 19, 16);

    float Scale => 1f / MathF.Sqrt(HeadSize);

    FlashAttentionGpu Flash => Device.Kernels.Get<FlashAttentionGpu>();

    [GlobalSetup]
    public void Setup()
    {
        Open();
        long qn = (long)Batch * Heads * SeqLen * HeadSize, kvn = (long)Batch * KvHeads * SeqLen * HeadSize;
        (q, k, v, dOutput) = (RandomBf16(qn, 1), RandomBf16(kvn, 2), RandomBf16(kvn, 3), RandomBf16(qn, 4));
        (output, dq, dk, dv) = (Zeros16(qn), Zeros16(qn), Zeros16(kvn), Zeros16(kvn));
        lse = Zeros32((long)Batch * Heads * SeqLen);
        workspace = Zeros32(FlashAttentionGpu.BackwardWorkspaceLength(Batch, Heads, SeqLen, HeadSize));

        // Batch 0, kv head 0 and its query heads 0 .. H/KvH − 1: the first (H/KvH)·T·Hs values of q, dOutput, output, dq
        // and the first T·Hs of k, v, dk, dv, in the (B, H, T, Hs) layout.
        int group = Heads / KvHeads, qm = group * SeqLen * HeadSize, km = SeqLen * HeadSize;
        var (qh, kh, vh, dOuth) = (Expected(1, qm, true), Expected(2, km, true), Expected(3, km, true), Expected(4, qm, true));
        var outRef = new float[qm];
        var probs = new float[(long)group * SeqLen * SeqLen];
        Attention.Forward<float>(qh, kh, vh, outRef, probs, 1, group, 1, SeqLen, HeadSize, Scale);
        Forward();
        Validate(outRef, Download(output, qm), 1e-2, "FlashAttentionGpu.Forward output");
        var (dqRef, dkRef, dvRef) = (new float[qm], new float[km], new float[km]);
        Attention.Backward<float>(qh, kh, vh, probs, dOuth, dqRef, dkRef, dvRef, 1, group, 1, SeqLen, HeadSize, Scale);
        Backward();
        Validate(dqRef, Download(dq, qm), 1e-2, "FlashAttentionGpu.Backward dq");
        Validate(dkRef, Download(dk, km), 1e-2, "FlashAttentionGpu.Backward dk");
        Validate(dvRef, Download(dv, km), 1e-2, "FlashAttentionGpu.Backward dv");
    }

    [Benchmark]
    public void Forward()
    {
        Flash.Forward(Stream, q, k, v, output, lse, Batch, Heads, KvHeads, SeqLen, HeadSize, Scale);
        Stream.Synchronize();
    }

    [Benchmark]
    public void Backward()
    {
        Flash.Backward(Stream, q, k, v, output, lse, dOutput, dq, dk, dv, workspace, Batch, Heads, KvHeads, SeqLen, HeadSize, Scale);
        Stream.Synchronize();
    }
}

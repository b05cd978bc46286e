using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    /// <summary>
    /// FlashAttention-2 (causal, GQA), f32 and bf16 storage, against the CPU attention (which materialises the
    /// (B, H, T, T) probabilities): at the GPU preset that is B=1 and fewer heads than the model's 32, because the CPU
    /// side is O(H·T²) in time and memory. The backward row runs the GPU forward first (its output and log-sum-exp are
    /// the backward's inputs), so a wrong lse fails it too.
    /// </summary>
    private static IEnumerable<KernelCheck> AttentionChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        var (b, h, kvH, t, hs) = shapes.FlashAttention;
        string shape = $"B={b} H={h} KvH={kvH} T={t} Hs={hs} causal";
        float scale = 1f / MathF.Sqrt(hs);
        long qn = (long)b * h * t * hs, kvn = (long)b * kvH * t * hs;
        double f32Tolerance = Tolerances.ForSum(Math.Max(t, hs));
        foreach (var (bf16, label) in Storages)
        {
            var random = new RandomData(seed, $"flash attention {label}");
            var q = GpuScope.AsStored(random.Uniform((int)qn), bf16);    // (B, H, T, Hs)
            var k = GpuScope.AsStored(random.Uniform((int)kvn), bf16);   // (B, KvH, T, Hs)
            var v = GpuScope.AsStored(random.Uniform((int)kvn), bf16);   // (B, KvH, T, Hs)
            var dOut = GpuScope.AsStored(random.Uniform((int)qn), bf16); // (B, H, T, Hs)
            var probs = new Lazy<float[]>(() =>
            {
                var p = new float[(long)b * h * t * t]; // (B, H, T, T)
                Attention.Forward<float>(q, k, v, new float[qn], p, b, h, kvH, t, hs, scale);
                return p;
            });

            yield return new KernelCheck($"flash attention forward {label} (gpu)", shape, Tolerance(bf16, f32Tolerance),
                () =>
                {
                    using var gpu = new GpuScope(device);
                    var (output, _) = FlashForward(device, gpu, q, k, v, bf16, b, h, kvH, t, hs, scale);
                    return [gpu.Download(output)];
                },
                () =>
                {
                    var output = RandomData.Poisoned((int)qn);
                    Attention.Forward<float>(q, k, v, output, new float[(long)b * h * t * t], b, h, kvH, t, hs, scale);
                    return [output];
                });

            yield return new KernelCheck($"flash attention backward {label} (gpu)", shape, Tolerance(bf16, f32Tolerance),
                () =>
                {
                    using var gpu = new GpuScope(device);
                    var (output, lse) = FlashForward(device, gpu, q, k, v, bf16, b, h, kvH, t, hs, scale);
                    var gdOut = gpu.Upload(dOut, bf16);
                    var dq = gpu.Poisoned(qn, bf16);
                    var dk = gpu.Poisoned(kvn, bf16);
                    var dv = gpu.Poisoned(kvn, bf16);
                    var workspace = gpu.Poisoned(FlashAttentionGpu.BackwardWorkspaceLength(b, h, t, hs), bf16: false);
                    var flash = device.Kernels.Get<FlashAttentionGpu>();
                    var (gq, gk, gv) = (gpu.Upload(q, bf16), gpu.Upload(k, bf16), gpu.Upload(v, bf16));
                    if (bf16)
                        flash.Backward(device.Stream, gq.Bf16View, gk.Bf16View, gv.Bf16View, output.Bf16View, lse.F32, gdOut.Bf16View,
                            dq.Bf16View, dk.Bf16View, dv.Bf16View, workspace.F32, b, h, kvH, t, hs, scale);
                    else
                        flash.Backward(device.Stream, gq.F32, gk.F32, gv.F32, output.F32, lse.F32, gdOut.F32,
                            dq.F32, dk.F32, dv.F32, workspace.F32, b, h, kvH, t, hs, scale);
                    return [gpu.Download(dq), gpu.Download(dk), gpu.Download(dv)];
                },
                () =>
                {
                    var dq = RandomData.Poisoned((int)qn);
                    var dk = RandomData.Poisoned((int)kvn);
                    var dv = RandomData.Poisoned((int)kvn);
                    Attention.Backward<float>(q, k, v, probs.Value, dOut, dq, dk, dv, b, h, kvH, t, hs, scale);
                    return [dq, dk, dv];
                });
        }
    }

    private static (GpuScope.Buffer Output, GpuScope.Buffer Lse) FlashForward(GpuDevice device, GpuScope gpu,
        float[] q, float[] k, float[] v, bool bf16, int b, int h, int kvH, int t, int hs, float scale)
    {
        var gq = gpu.Upload(q, bf16);
        var gk = gpu.Upload(k, bf16);
        var gv = gpu.Upload(v, bf16);
        var output = gpu.Poisoned(q.Length, bf16);
        var lse = gpu.Poisoned((long)b * h * t, bf16: false); // (B, H, T)
        var flash = device.Kernels.Get<FlashAttentionGpu>();
        if (bf16) flash.Forward(device.Stream, gq.Bf16View, gk.Bf16View, gv.Bf16View, output.Bf16View, lse.F32, b, h, kvH, t, hs, scale);
        else flash.Forward(device.Stream, gq.F32, gk.F32, gv.F32, output.F32, lse.F32, b, h, kvH, t, hs, scale);
        return (output, lse);
    }
}

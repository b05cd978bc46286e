using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    /// <summary>
    /// RoPE as the model runs it: q (B, T, H, Hs) and k (B, T, KvH, Hs) rotated in place in one launch, forward, and
    /// backward (the inverse rotation, on their gradients). KvH = H/4 (at least 1), TinyLlama's grouping.
    /// </summary>
    private static IEnumerable<KernelCheck> RopeChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        foreach (var (bf16, label) in Storages)
            foreach (bool inverse in new[] { false, true })
                yield return RopeInPlace(device, shapes, seed, bf16, label, inverse);
    }

    private static KernelCheck RopeInPlace(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label, bool inverse)
    {
        string op = $"rope {(inverse ? "backward" : "forward")} q,k in place {label} (gpu)";
        var (b, t, h, hs, startPos) = shapes.Rope;
        int kvH = Math.Max(1, h / 4);
        var random = new RandomData(seed, op);
        var q = GpuScope.AsStored(random.Uniform(b * t * h * hs), bf16);   // (B, T, H, Hs)
        var k = GpuScope.AsStored(random.Uniform(b * t * kvH * hs), bf16); // (B, T, KvH, Hs)
        int maxT = startPos + t;
        var cos = new float[maxT * hs / 2]; // (maxT, Hs/2)
        var sin = new float[maxT * hs / 2];
        Rope.Tables<float>(maxT, hs, 10000.0, cos, sin);

        return new KernelCheck(op, $"B={b} T={t} H={h} KvH={kvH} Hs={hs} pos0={startPos}", Tolerance(bf16, Tolerances.Elementwise),
            () =>
            {
                using var gpu = new GpuScope(device);
                var gq = gpu.Upload(q, bf16);
                var gk = gpu.Upload(k, bf16);
                var gcos = gpu.Upload(cos, bf16: false);
                var gsin = gpu.Upload(sin, bf16: false);
                var kernel = device.Kernels.Get<RopeGpu>();
                if (bf16) kernel.ApplyInPlace(device.Stream, gq.Bf16View, gk.Bf16View, b, t, h, kvH, hs, gcos.F32, gsin.F32, startPos, inverse);
                else kernel.ApplyInPlace(device.Stream, gq.F32, gk.F32, b, t, h, kvH, hs, gcos.F32, gsin.F32, startPos, inverse);
                return [gpu.Download(gq), gpu.Download(gk)];
            },
            () =>
            {
                var yq = RandomData.Poisoned(q.Length);
                var yk = RandomData.Poisoned(k.Length);
                if (inverse)
                {
                    Rope.Backward<float>(q, yq, b, t, h, hs, cos, sin, startPos);
                    Rope.Backward<float>(k, yk, b, t, kvH, hs, cos, sin, startPos);
                }
                else
                {
                    Rope.Forward<float>(q, yq, b, t, h, hs, cos, sin, startPos);
                    Rope.Forward<float>(k, yk, b, t, kvH, hs, cos, sin, startPos);
                }
                return [yq, yk];
            });
    }
}

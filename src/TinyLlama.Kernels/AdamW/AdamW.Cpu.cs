using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlama.Kernels;

public static partial class AdamW
{
    /// <summary>
    /// The fused step: one pass reads p, g, m, v and writes p, m, v (memory-bound: 16 bytes read, 12 written per element).
    /// </summary>
    public static void Step(Span<float> param, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        Check(param, grad, m, v, step);
        float decay = (float)(1.0 - (double)lr * weightDecay);
        float stepSize = (float)(lr / (1 - Math.Pow(beta1, step)));
        float invSqrtB2 = (float)(1 / Math.Sqrt(1 - Math.Pow(beta2, step)));
        ref float p0 = ref MemoryMarshal.GetReference(param);
        ref float g0 = ref MemoryMarshal.GetReference(grad);
        ref float m0 = ref MemoryMarshal.GetReference(m);
        ref float v0 = ref MemoryMarshal.GetReference(v);
        int n = param.Length;
        // Chunks of 16K elements keep each thread's slice in flight without false sharing.
        const int chunk = 1 << 14;
        int chunks = (n + chunk - 1) / chunk;
        unsafe
        {
            fixed (float* pp = &p0, gp = &g0, mp = &m0, vp = &v0)
            {
                float* p = pp, g = gp, mm = mp, vv = vp;
                CpuParallel.For(chunks, chunk, (start, end) =>
                {
                    for (int c = start; c < end; c++)
                    {
                        int from = c * chunk, to = Math.Min(n, from + chunk);
                        StepRange(p, g, mm, vv, from, to, decay, beta1, beta2, eps, stepSize, invSqrtB2);
                    }
                });
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StepRange(float* p, float* g, float* m, float* v, int from, int to,
        float decay, float beta1, float beta2, float eps, float stepSize, float invSqrtB2)
    {
        int i = from;
        if (Vector256.IsHardwareAccelerated)
        {
            var vDecay = Vector256.Create(decay);
            var vB1 = Vector256.Create(beta1); var vC1 = Vector256.Create(1 - beta1);
            var vB2 = Vector256.Create(beta2); var vC2 = Vector256.Create(1 - beta2);
            var vEps = Vector256.Create(eps); var vStep = Vector256.Create(stepSize); var vInv = Vector256.Create(invSqrtB2);
            for (; i <= to - 8; i += 8)
            {
                var gi = Vector256.Load(g + i);
                var mi = vB1 * Vector256.Load(m + i) + vC1 * gi;
                var vi = vB2 * Vector256.Load(v + i) + vC2 * gi * gi;
                var pi = Vector256.Load(p + i) * vDecay - vStep * mi / (Vector256.Sqrt(vi) * vInv + vEps);
                mi.Store(m + i);
                vi.Store(v + i);
                pi.Store(p + i);
            }
        }
        for (; i < to; i++)
        {
            float gi = g[i];
            float mi = beta1 * m[i] + (1 - beta1) * gi;
            float vi = beta2 * v[i] + (1 - beta2) * gi * gi;
            p[i] = p[i] * decay - stepSize * mi / (MathF.Sqrt(vi) * invSqrtB2 + eps);
            (m[i], v[i]) = (mi, vi);
        }
    }
}

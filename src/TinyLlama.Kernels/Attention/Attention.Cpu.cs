using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace TinyLlama.Kernels;

/// <summary>
/// Causal scaled-dot-product attention with grouped-query heads (the plain version; FlashAttention comes with the GPU work).
/// q, out: (B, H, T, Hs); k, v: (B, KvH, T, Hs); query head h reads kv head h / (H / KvH) — no K/V copy per head.
/// probs: (B, H, T, T), the softmax of scale·q·kᵀ with positions j &gt; i masked out (stored as 0); saved for backward.
/// Forward, per head and row i:  s_ij = scale·q_i·k_j (j ≤ i),  p_i = softmax(s_i),  out_i = Σ_j p_ij v_j.
/// Backward, with dp_ij = dOut_i·v_j and ds_ij = p_ij (dp_ij − Σ_l p_il dp_il):
///   dv_j = Σ_i p_ij dOut_i,  dq_i = scale Σ_j ds_ij k_j,  dk_j = scale Σ_i ds_ij q_i   (dk, dv also summed over the group).
/// </summary>
public static partial class Attention
{
    public static unsafe void Forward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, Span<T> output, Span<T> probs,
        int batch, int heads, int kvHeads, int seqLen, int headSize, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "Attention.Forward";
        Check(op, q.Length, k.Length, v.Length, probs.Length, batch, heads, kvHeads, seqLen, headSize);
        KernelArgs.Length(op, "output", output.Length, (long)batch * heads * seqLen * headSize, "batch·heads·seqLen·headSize");
        int group = heads / kvHeads, hs = headSize, t = seqLen;
        fixed (T* pq = q, pk = k, pv = v, po = output, pp = probs)
        {
            T* qs = pq, ks = pk, vs = pv, os = po, ps = pp;
            // Heads are independent in forward: one item per (b, h).
            CpuParallel.For(batch * heads, (long)t * t * hs, (start, end) =>
            {
                for (int bh = start; bh < end; bh++)
                {
                    int b = bh / heads, kvh = bh % heads / group;
                    T* qh = qs + (long)bh * t * hs, oh = os + (long)bh * t * hs, ph = ps + (long)bh * t * t;
                    T* kh = ks + ((long)b * kvHeads + kvh) * t * hs, vh = vs + ((long)b * kvHeads + kvh) * t * hs;
                    for (int i = 0; i < t; i++)
                    {
                        var qi = new ReadOnlySpan<T>(qh + (long)i * hs, hs);
                        var p = new Span<T>(ph + (long)i * t, t);
                        for (int j = 0; j <= i; j++) p[j] = scale * TensorPrimitives.Dot(qi, new ReadOnlySpan<T>(kh + (long)j * hs, hs));
                        var live = p[..(i + 1)];
                        T max = TensorPrimitives.Max<T>(live);
                        double sum = Softmax.SumExp<T>(live, max, live);
                        TensorPrimitives.Multiply(live, T.CreateChecked(1.0 / sum), live);
                        p[(i + 1)..].Clear();

                        var oi = new Span<T>(oh + (long)i * hs, hs);
                        oi.Clear();
                        for (int j = 0; j <= i; j++)
                            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(vh + (long)j * hs, hs), p[j], oi, oi);
                    }
                }
            });
        }
    }

    /// <summary>dq, dk, dv are written (=); dk and dv sum over the query heads that share a kv head.</summary>
    public static unsafe void Backward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> probs,
        ReadOnlySpan<T> dOutput, Span<T> dq, Span<T> dk, Span<T> dv,
        int batch, int heads, int kvHeads, int seqLen, int headSize, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "Attention.Backward";
        Check(op, q.Length, k.Length, v.Length, probs.Length, batch, heads, kvHeads, seqLen, headSize);
        long qn = (long)batch * heads * seqLen * headSize, kvn = (long)batch * kvHeads * seqLen * headSize;
        KernelArgs.Length(op, "dOutput", dOutput.Length, qn, "batch·heads·seqLen·headSize");
        KernelArgs.Length(op, "dq", dq.Length, qn, "batch·heads·seqLen·headSize");
        KernelArgs.Length(op, "dk", dk.Length, kvn, "batch·kvHeads·seqLen·headSize");
        KernelArgs.Length(op, "dv", dv.Length, kvn, "batch·kvHeads·seqLen·headSize");
        int group = heads / kvHeads, hs = headSize, t = seqLen;
        fixed (T* pq = q, pk = k, pv = v, pp = probs, pdo = dOutput, pdq = dq, pdk = dk, pdv = dv)
        {
            T* qs = pq, ks = pk, vs = pv, ps = pp, dos = pdo, dqs = pdq, dks = pdk, dvs = pdv;
            // One item per (b, kv head): the query heads of a group all add into the same dk, dv, so a group
            // never spans two threads and no write races.
            CpuParallel.For(batch * kvHeads, (long)group * t * t * hs * 2, (start, end) =>
            {
                T[] dpBuffer = ArrayPool<T>.Shared.Rent(t);
                for (int bkv = start; bkv < end; bkv++)
                {
                    int b = bkv / kvHeads;
                    long kvOffset = (long)bkv * t * hs;
                    T* kh = ks + kvOffset, vh = vs + kvOffset, dkh = dks + kvOffset, dvh = dvs + kvOffset;
                    new Span<T>(dkh, t * hs).Clear();
                    new Span<T>(dvh, t * hs).Clear();
                    for (int h = bkv % kvHeads * group; h < (bkv % kvHeads + 1) * group; h++)
                    {
                        long bh = (long)b * heads + h;
                        T* qh = qs + bh * t * hs, doh = dos + bh * t * hs, dqh = dqs + bh * t * hs, ph = ps + bh * t * t;
                        for (int i = 0; i < t; i++)
                        {
                            var p = new ReadOnlySpan<T>(ph + (long)i * t, i + 1);
                            var dOut = new ReadOnlySpan<T>(doh + (long)i * hs, hs);
                            var dp = dpBuffer.AsSpan(0, i + 1);
                            for (int j = 0; j <= i; j++)
                            {
                                var dvj = new Span<T>(dvh + (long)j * hs, hs);
                                dp[j] = TensorPrimitives.Dot(dOut, new ReadOnlySpan<T>(vh + (long)j * hs, hs));
                                TensorPrimitives.MultiplyAdd(dOut, p[j], dvj, dvj);
                            }
                            // ds = scale · p ⊙ (dp − p·dp), kept in dp.
                            T pdp = TensorPrimitives.Dot(p, dp);
                            TensorPrimitives.AddMultiply(dp, -pdp, p, dp);
                            TensorPrimitives.Multiply(dp, scale, dp);

                            var qi = new ReadOnlySpan<T>(qh + (long)i * hs, hs);
                            var dqi = new Span<T>(dqh + (long)i * hs, hs);
                            dqi.Clear();
                            for (int j = 0; j <= i; j++)
                            {
                                var dkj = new Span<T>(dkh + (long)j * hs, hs);
                                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(kh + (long)j * hs, hs), dp[j], dqi, dqi);
                                TensorPrimitives.MultiplyAdd(qi, dp[j], dkj, dkj);
                            }
                        }
                    }
                }
                ArrayPool<T>.Shared.Return(dpBuffer);
            });
        }
    }

    static void Check(string op, int q, int k, int v, int probs, int batch, int heads, int kvHeads, int seqLen, int headSize)
    {
        KernelArgs.NonNegative(op, "batch", batch);
        KernelArgs.Positive(op, "heads", heads);
        KernelArgs.Positive(op, "kvHeads", kvHeads);
        KernelArgs.NonNegative(op, "seqLen", seqLen);
        KernelArgs.Positive(op, "headSize", headSize);
        if (heads % kvHeads != 0)
            throw new ArgumentException($"{op}: heads ({heads}) must be a multiple of kvHeads ({kvHeads})", nameof(kvHeads));
        KernelArgs.Length(op, "q", q, (long)batch * heads * seqLen * headSize, "batch·heads·seqLen·headSize");
        KernelArgs.Length(op, "k", k, (long)batch * kvHeads * seqLen * headSize, "batch·kvHeads·seqLen·headSize");
        KernelArgs.Length(op, "v", v, (long)batch * kvHeads * seqLen * headSize, "batch·kvHeads·seqLen·headSize");
        KernelArgs.Length(op, "probs", probs, (long)batch * heads * seqLen * seqLen, "batch·heads·seqLen·seqLen");
    }
}

using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class Attention
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, Span<T> output, Span<T> probs,
        int batch, int heads, int kvHeads, int seqLen, int headSize, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "Attention.ForwardReference";
        Check(op, q.Length, k.Length, v.Length, probs.Length, batch, heads, kvHeads, seqLen, headSize);
        KernelArgs.Length(op, "output", output.Length, (long)batch * heads * seqLen * headSize, "batch·heads·seqLen·headSize");
        int t = seqLen, hs = headSize, group = heads / kvHeads;
        double sc = D(scale);
        var p = new double[t];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
            {
                int qo = (b * heads + h) * t * hs, ko = (b * kvHeads + h / group) * t * hs, po = (b * heads + h) * t * t;
                for (int i = 0; i < t; i++)
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j <= i; j++)
                    {
                        double s = 0;
                        for (int c = 0; c < hs; c++) s += D(q[qo + i * hs + c]) * D(k[ko + j * hs + c]);
                        p[j] = sc * s;
                        max = Math.Max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) sum += p[j] = Math.Exp(p[j] - max);
                    for (int j = 0; j < t; j++) probs[po + i * t + j] = j <= i ? T.CreateChecked(p[j] / sum) : T.Zero;
                    for (int c = 0; c < hs; c++)
                    {
                        double o = 0;
                        for (int j = 0; j <= i; j++) o += p[j] / sum * D(v[ko + j * hs + c]);
                        output[qo + i * hs + c] = T.CreateChecked(o);
                    }
                }
            }
    }

    /// <summary>Scalar reference of <see cref="Backward{T}"/>.</summary>
    public static void BackwardReference<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> probs,
        ReadOnlySpan<T> dOutput, Span<T> dq, Span<T> dk, Span<T> dv,
        int batch, int heads, int kvHeads, int seqLen, int headSize, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "Attention.BackwardReference";
        Check(op, q.Length, k.Length, v.Length, probs.Length, batch, heads, kvHeads, seqLen, headSize);
        long qn = (long)batch * heads * seqLen * headSize, kvn = (long)batch * kvHeads * seqLen * headSize;
        KernelArgs.Length(op, "dOutput", dOutput.Length, qn, "batch·heads·seqLen·headSize");
        KernelArgs.Length(op, "dq", dq.Length, qn, "batch·heads·seqLen·headSize");
        KernelArgs.Length(op, "dk", dk.Length, kvn, "batch·kvHeads·seqLen·headSize");
        KernelArgs.Length(op, "dv", dv.Length, kvn, "batch·kvHeads·seqLen·headSize");
        int t = seqLen, hs = headSize, group = heads / kvHeads;
        double sc = D(scale);
        var dkAcc = new double[kvn];
        var dvAcc = new double[kvn];
        var ds = new double[t];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
            {
                int qo = (b * heads + h) * t * hs, ko = (b * kvHeads + h / group) * t * hs, po = (b * heads + h) * t * t;
                for (int i = 0; i < t; i++)
                {
                    // dp_ij = dOut_i·v_j; softmax backward: ds_ij = p_ij (dp_ij − Σ_l p_il dp_il).
                    double pdp = 0;
                    for (int j = 0; j <= i; j++)
                    {
                        double dp = 0;
                        for (int c = 0; c < hs; c++) dp += D(dOutput[qo + i * hs + c]) * D(v[ko + j * hs + c]);
                        ds[j] = dp;
                        pdp += D(probs[po + i * t + j]) * dp;
                    }
                    for (int j = 0; j <= i; j++) ds[j] = D(probs[po + i * t + j]) * (ds[j] - pdp);
                    for (int c = 0; c < hs; c++)
                    {
                        double dqc = 0;
                        for (int j = 0; j <= i; j++)
                        {
                            dqc += sc * ds[j] * D(k[ko + j * hs + c]);
                            dkAcc[ko + j * hs + c] += sc * ds[j] * D(q[qo + i * hs + c]);
                            dvAcc[ko + j * hs + c] += D(probs[po + i * t + j]) * D(dOutput[qo + i * hs + c]);
                        }
                        dq[qo + i * hs + c] = T.CreateChecked(dqc);
                    }
                }
            }
        for (long i = 0; i < kvn; i++)
        {
            dk[(int)i] = T.CreateChecked(dkAcc[i]);
            dv[(int)i] = T.CreateChecked(dvAcc[i]);
        }
    }

    static double D<T>(T v) where T : INumberBase<T> => double.CreateChecked(v);
}

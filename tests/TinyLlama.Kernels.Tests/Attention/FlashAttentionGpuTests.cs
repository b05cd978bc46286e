using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

/// <summary>
/// FlashAttention-2 kernels on ILGPU's CPU accelerator (warp 32) against the double-precision reference attention, at
/// sizes that keep each run to a handful of groups: ragged T (not a multiple of any tile), T below one tile, GQA
/// ratios 1, 2 and 4, every head-size shape, f32 and bf16 storage. Outputs and workspace are poisoned (NaN) first.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class FlashAttentionGpuTests(CpuAcceleratorFixture gpu)
{
    const double F32Tolerance = 1e-4, Bf16Tolerance = 1e-2;

    FlashAttentionGpu Flash => gpu.Kernels.Get<FlashAttentionGpu>();

    /// <summary>The same launcher with the bf16 Hs = 64 forward on the SIMT kernel instead of tensor cores.</summary>
    static FlashAttentionGpu? simtOnly;
    FlashAttentionGpu SimtOnly => simtOnly ??= new FlashAttentionGpu(gpu.Accelerator) { TensorCores = false };

    // (batch, heads, kvHeads, seqLen, headSize)
    public static TheoryData<int, int, int, int, int> F32Sizes => new()
    {
        { 1, 4, 2, 70, 16 },  // ragged T: forward tiles 32×8, backward 32×4
        { 2, 3, 3, 5, 16 },   // T below one tile; GQA ratio 1
        { 1, 4, 1, 33, 16 },  // GQA ratio 4
        { 1, 2, 1, 70, 64 },  // TinyLlama's head size: forward 64×32, backward 32×32, ragged
        { 1, 2, 1, 40, 128 }, // forward 32×32, backward 8×32 with four columns per lane
    };

    [Theory, MemberData(nameof(F32Sizes))]
    public void F32ForwardAndBackwardMatchTheReference(int batch, int heads, int kvHeads, int seqLen, int headSize)
    {
        var p = Problem.Create(batch, heads, kvHeads, seqLen, headSize, seed: 100 + seqLen + headSize, roundToBf16: false);
        using var q = gpu.Upload<float>(ToFloat(p.Q));
        using var k = gpu.Upload<float>(ToFloat(p.K));
        using var v = gpu.Upload<float>(ToFloat(p.V));
        using var dOut = gpu.Upload<float>(ToFloat(p.DOut));
        using var output = gpu.Poisoned<float>(p.QLength);
        using var lse = gpu.Poisoned<float>(p.RowCount);
        Flash.Forward(gpu.Stream, q.View, k.View, v.View, output.View, lse.View, batch, heads, kvHeads, seqLen, headSize, (float)p.Scale);
        AssertClose.All<double>(p.Output, ToDouble(gpu.Download(output)), F32Tolerance, "flash output");
        AssertClose.All<double>(p.Lse, ToDouble(gpu.Download(lse)), F32Tolerance, "flash lse");

        using var dq = gpu.Poisoned<float>(p.QLength);
        using var dk = gpu.Poisoned<float>(p.KvLength);
        using var dv = gpu.Poisoned<float>(p.KvLength);
        using var workspace = gpu.Poisoned<float>((int)FlashAttentionGpu.BackwardWorkspaceLength(batch, heads, seqLen, headSize));
        Flash.Backward(gpu.Stream, q.View, k.View, v.View, output.View, lse.View, dOut.View, dq.View, dk.View, dv.View,
            workspace.View, batch, heads, kvHeads, seqLen, headSize, (float)p.Scale);
        AssertClose.All<double>(p.Dq, ToDouble(gpu.Download(dq)), F32Tolerance, "flash dq");
        AssertClose.All<double>(p.Dk, ToDouble(gpu.Download(dk)), F32Tolerance, "flash dk");
        AssertClose.All<double>(p.Dv, ToDouble(gpu.Download(dv)), F32Tolerance, "flash dv");
    }

    // (batch, heads, kvHeads, seqLen, headSize, tensorCores): Hs = 64 with tensor cores runs the mma forward, emulated
    // here with warp shuffles, each a warp-wide exchange of 32 OS threads: those cases are kept to one head.
    public static TheoryData<int, int, int, int, int, bool> Bf16Sizes => new()
    {
        { 1, 4, 2, 70, 16, true },
        { 1, 4, 2, 45, 64, false },
        { 1, 2, 1, 40, 128, false },
        { 1, 1, 1, 100, 64, true }, // two query tiles (the second ragged) visiting one and two key tiles: rescaling, diagonal mask
    };

    /// <summary>bf16 storage against the reference on the same bf16-rounded inputs (the kernels compute in f32).</summary>
    [Theory, MemberData(nameof(Bf16Sizes))]
    public void Bf16ForwardAndBackwardMatchTheReference(int batch, int heads, int kvHeads, int seqLen, int headSize, bool tensorCores)
    {
        var flash = tensorCores ? Flash : SimtOnly;
        var p = Problem.Create(batch, heads, kvHeads, seqLen, headSize, seed: 200 + seqLen + headSize, roundToBf16: true);
        using var q = gpu.Upload<ushort>(ToBf16(p.Q));
        using var k = gpu.Upload<ushort>(ToBf16(p.K));
        using var v = gpu.Upload<ushort>(ToBf16(p.V));
        using var dOut = gpu.Upload<ushort>(ToBf16(p.DOut));
        using var output = gpu.Poisoned<ushort>(p.QLength);
        using var lse = gpu.Poisoned<float>(p.RowCount);
        flash.Forward(gpu.Stream, q.View, k.View, v.View, output.View, lse.View, batch, heads, kvHeads, seqLen, headSize, (float)p.Scale);
        AssertClose.All<double>(p.Output, FromBf16(gpu.Download(output)), Bf16Tolerance, "flash bf16 output");
        AssertClose.All<double>(p.Lse, ToDouble(gpu.Download(lse)), F32Tolerance, "flash bf16 lse (f32 statistics)");

        using var dq = gpu.Poisoned<ushort>(p.QLength);
        using var dk = gpu.Poisoned<ushort>(p.KvLength);
        using var dv = gpu.Poisoned<ushort>(p.KvLength);
        using var workspace = gpu.Poisoned<float>((int)FlashAttentionGpu.BackwardWorkspaceLength(batch, heads, seqLen, headSize));
        flash.Backward(gpu.Stream, q.View, k.View, v.View, output.View, lse.View, dOut.View, dq.View, dk.View, dv.View,
            workspace.View, batch, heads, kvHeads, seqLen, headSize, (float)p.Scale);
        // dq and dk depend on the output they are handed through D_i = dO_i·o_i, and dS = P∘(dP − D) cancels: with o
        // rounded to bf16, the exact dq and dk themselves move by up to ~2.5% on these inputs (measured: the reference
        // with D from the bf16 o against the exact reference). So they are held to 1e-2 against the reference given the
        // same bf16 o, and only loosely (5e-2) against the exact one. dv does not involve D.
        var (dqGiven, dkGiven) = Problem.GradientsWithDeltaFrom(p, FromBf16(gpu.Download(output)), batch, heads, kvHeads, seqLen, headSize);
        var (dqActual, dkActual) = (FromBf16(gpu.Download(dq)), FromBf16(gpu.Download(dk)));
        AssertClose.All<double>(dqGiven, dqActual, Bf16Tolerance, "flash bf16 dq (reference with D from the bf16 output)");
        AssertClose.All<double>(dkGiven, dkActual, Bf16Tolerance, "flash bf16 dk (reference with D from the bf16 output)");
        AssertClose.All<double>(p.Dq, dqActual, 5e-2, "flash bf16 dq (exact reference)");
        AssertClose.All<double>(p.Dk, dkActual, 5e-2, "flash bf16 dk (exact reference)");
        AssertClose.All<double>(p.Dv, FromBf16(gpu.Download(dv)), Bf16Tolerance, "flash bf16 dv");
    }

    /// <summary>dK and dV sum over the query heads of a group in a fixed order inside one group: bit-identical reruns.</summary>
    [Fact]
    public void DkAndDvAreDeterministic()
    {
        const int b = 1, h = 4, kvh = 1, t = 20, hs = 16;
        var p = Problem.Create(b, h, kvh, t, hs, seed: 7, roundToBf16: false);
        using var q = gpu.Upload<float>(ToFloat(p.Q));
        using var k = gpu.Upload<float>(ToFloat(p.K));
        using var v = gpu.Upload<float>(ToFloat(p.V));
        using var dOut = gpu.Upload<float>(ToFloat(p.DOut));
        using var output = gpu.Poisoned<float>(p.QLength);
        using var lse = gpu.Poisoned<float>(p.RowCount);
        Flash.Forward(gpu.Stream, q.View, k.View, v.View, output.View, lse.View, b, h, kvh, t, hs, (float)p.Scale);
        using var dq = gpu.Poisoned<float>(p.QLength);
        using var workspace = gpu.Poisoned<float>((int)FlashAttentionGpu.BackwardWorkspaceLength(b, h, t, hs));
        float[][] runs = new float[2][];
        for (int run = 0; run < 2; run++)
        {
            using var dk = gpu.Poisoned<float>(p.KvLength);
            using var dv = gpu.Poisoned<float>(p.KvLength);
            Flash.Backward(gpu.Stream, q.View, k.View, v.View, output.View, lse.View, dOut.View, dq.View, dk.View, dv.View,
                workspace.View, b, h, kvh, t, hs, (float)p.Scale);
            runs[run] = [.. gpu.Download(dk), .. gpu.Download(dv)];
        }
        Assert.Equal(runs[0], runs[1]);
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeLaunch()
    {
        const int b = 1, h = 4, kvh = 2, t = 8, hs = 16;
        int qn = b * h * t * hs, kvn = b * kvh * t * hs;
        using var q = gpu.Poisoned<float>(qn);
        using var kv = gpu.Poisoned<float>(kvn);
        using var lse = gpu.Poisoned<float>(b * h * t);
        using var workspace = gpu.Poisoned<float>((int)FlashAttentionGpu.BackwardWorkspaceLength(b, h, t, hs));

        void Forward(int heads = h, int kvHeads = kvh, int headSize = hs, float scale = 0.25f, int qLength = -1) =>
            Flash.Forward(gpu.Stream, qLength < 0 ? q.View : q.View.SubView(0, qLength), kv.View, kv.View, q.View, lse.View,
                b, heads, kvHeads, t, headSize, scale);

        Assert.Contains("heads (4) must be a multiple of kvHeads (3)", Assert.Throws<ArgumentException>(() => Forward(kvHeads: 3)).Message);
        Assert.Contains("headSize must be one of 16, 64, 128, got 32",
            Assert.Throws<ArgumentOutOfRangeException>(() => Forward(headSize: 32)).Message);
        Assert.Contains("scale must be finite", Assert.Throws<ArgumentOutOfRangeException>(() => Forward(scale: float.NaN)).Message);
        Assert.Contains("q has 500 elements", Assert.Throws<ArgumentException>(() => Forward(qLength: 500)).Message);
        Assert.Contains("kvHeads must be > 0", Assert.Throws<ArgumentOutOfRangeException>(() => Forward(kvHeads: 0)).Message);

        var error = Assert.Throws<ArgumentException>(() => Flash.Backward(gpu.Stream, q.View, kv.View, kv.View, q.View, lse.View,
            q.View, q.View, kv.View, kv.View, workspace.View.SubView(0, 10), b, h, kvh, t, hs, 0.25f));
        Assert.Contains("workspace has 10 elements, expected batch·heads·seqLen·(headSize+1)", error.Message);
        error = Assert.Throws<ArgumentException>(() => Flash.Backward(gpu.Stream, q.View, kv.View, kv.View, q.View, lse.View,
            q.View, q.View, kv.View, q.View, workspace.View, b, h, kvh, t, hs, 0.25f));
        Assert.Contains("dv has", error.Message);
    }

    /// <summary>Inputs in double (optionally bf16-exact) and the reference results, computed in double.</summary>
    sealed record Problem(double[] Q, double[] K, double[] V, double[] DOut, double Scale, double[] Output, double[] Lse,
        double[] Dq, double[] Dk, double[] Dv)
    {
        public int QLength => Q.Length;
        public int KvLength => K.Length;
        public int RowCount => Lse.Length;

        public static Problem Create(int b, int h, int kvh, int t, int hs, int seed, bool roundToBf16)
        {
            int qn = b * h * t * hs, kvn = b * kvh * t * hs;
            double[] Input(int n, int s, double scale)
            {
                var a = RandomData.Array<double>(n, s, scale);
                for (int i = 0; i < a.Length; i++)
                    a[i] = roundToBf16 ? BFloat16.ToFloat(BFloat16.FromFloat((float)a[i])) : (float)a[i];
                return a;
            }
            double[] q = Input(qn, seed, 2), k = Input(kvn, seed + 1, 2), v = Input(kvn, seed + 2, 1), dOut = Input(qn, seed + 3, 1);
            double scale = 1 / Math.Sqrt(hs);
            var output = new double[qn];
            var probs = new double[b * h * t * t];
            Attention.ForwardReference<double>(q, k, v, output, probs, b, h, kvh, t, hs, scale);
            var (dq, dk, dv) = (new double[qn], new double[kvn], new double[kvn]);
            Attention.BackwardReference<double>(q, k, v, probs, dOut, dq, dk, dv, b, h, kvh, t, hs, scale);
            return new Problem(q, k, v, dOut, scale, output, LogSumExp(q, k, b, h, kvh, t, hs, scale), dq, dk, dv);
        }

        /// <summary>
        /// dq and dk from the reference probabilities with D_i = dO_i·o_i taken from the given forward output o, e.g. the
        /// bf16-rounded one the bf16 kernel is handed: dS_ij = P_ij (dO_i·v_j − D_i), dq_i = scale Σ_j dS_ij k_j,
        /// dk_j = scale Σ_i dS_ij q_i (summed over the query heads of a kv head).
        /// </summary>
        public static (double[] Dq, double[] Dk) GradientsWithDeltaFrom(Problem p, double[] output, int b, int h, int kvh, int t, int hs)
        {
            var dq = new double[p.Q.Length];
            var dk = new double[p.K.Length];
            var probs = new double[b * h * t * t];
            Attention.ForwardReference<double>(p.Q, p.K, p.V, new double[p.Q.Length], probs, b, h, kvh, t, hs, p.Scale);
            for (int bb = 0; bb < b; bb++)
                for (int hh = 0; hh < h; hh++)
                {
                    int qo = (bb * h + hh) * t * hs, ko = (bb * kvh + hh / (h / kvh)) * t * hs, po = (bb * h + hh) * t * t;
                    for (int i = 0; i < t; i++)
                    {
                        double delta = 0;
                        for (int c = 0; c < hs; c++) delta += p.DOut[qo + i * hs + c] * output[qo + i * hs + c];
                        for (int j = 0; j <= i; j++)
                        {
                            double dp = 0;
                            for (int c = 0; c < hs; c++) dp += p.DOut[qo + i * hs + c] * p.V[ko + j * hs + c];
                            double ds = probs[po + i * t + j] * (dp - delta);
                            for (int c = 0; c < hs; c++)
                            {
                                dq[qo + i * hs + c] += p.Scale * ds * p.K[ko + j * hs + c];
                                dk[ko + j * hs + c] += p.Scale * ds * p.Q[qo + i * hs + c];
                            }
                        }
                    }
                }
            return (dq, dk);
        }

        /// <summary>lse[b, h, i] = log Σ_{j ≤ i} exp(scale·q_i·k_j), in double.</summary>
        static double[] LogSumExp(double[] q, double[] k, int b, int h, int kvh, int t, int hs, double scale)
        {
            var lse = new double[b * h * t];
            var s = new double[t];
            for (int bb = 0; bb < b; bb++)
                for (int hh = 0; hh < h; hh++)
                {
                    int qo = (bb * h + hh) * t * hs, ko = (bb * kvh + hh / (h / kvh)) * t * hs;
                    for (int i = 0; i < t; i++)
                    {
                        double max = double.NegativeInfinity;
                        for (int j = 0; j <= i; j++)
                        {
                            double dot = 0;
                            for (int c = 0; c < hs; c++) dot += q[qo + i * hs + c] * k[ko + j * hs + c];
                            s[j] = scale * dot;
                            max = Math.Max(max, s[j]);
                        }
                        double sum = 0;
                        for (int j = 0; j <= i; j++) sum += Math.Exp(s[j] - max);
                        lse[(bb * h + hh) * t + i] = max + Math.Log(sum);
                    }
                }
            return lse;
        }
    }

    static float[] ToFloat(double[] a) => Array.ConvertAll(a, x => (float)x);
    static double[] ToDouble(float[] a) => Array.ConvertAll(a, x => (double)x);
    static ushort[] ToBf16(double[] a) => Array.ConvertAll(a, x => BFloat16.FromFloat((float)x));
    static double[] FromBf16(ushort[] a) => Array.ConvertAll(a, x => (double)BFloat16.ToFloat(x));
}

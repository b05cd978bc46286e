using System.Numerics;

namespace TinyLlama.Kernels.Tests;

public class AttentionTests
{
    // (batch, heads, kvHeads, seqLen, headSize)
    public static TheoryData<int, int, int, int, int> Sizes => new()
    {
        { 1, 1, 1, 1, 1 }, { 1, 2, 1, 7, 5 }, { 2, 4, 2, 33, 16 }, { 1, 6, 3, 130, 64 }, { 2, 4, 1, 97, 33 },
    };

    [Theory, MemberData(nameof(Sizes))]
    public void ForwardAndBackward_MatchReference(int batch, int heads, int kvHeads, int seqLen, int headSize)
    {
        Check<float>(batch, heads, kvHeads, seqLen, headSize);
        Check<double>(batch, heads, kvHeads, seqLen, headSize);
    }

    static void Check<T>(int b, int h, int kvh, int t, int hs) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int qn = b * h * t * hs, kvn = b * kvh * t * hs, pn = b * h * t * t;
        var (q, k, v) = (RandomData.Array<T>(qn, 61, 2), RandomData.Array<T>(kvn, 62, 2), RandomData.Array<T>(kvn, 63));
        T scale = T.CreateChecked(1 / Math.Sqrt(hs));
        var (o, p) = (RandomData.Poisoned<T>(qn), RandomData.Poisoned<T>(pn));
        var (oRef, pRef) = (new T[qn], new T[pn]);
        Attention.Forward<T>(q, k, v, o, p, b, h, kvh, t, hs, scale);
        Attention.ForwardReference<T>(q, k, v, oRef, pRef, b, h, kvh, t, hs, scale);
        AssertClose.All<T>(oRef, o, AssertClose.Reduction<T>(), "Attention output");
        AssertClose.All<T>(pRef, p, AssertClose.Reduction<T>(), "Attention probs");
        for (int i = 0; i < t; i++) // the masked upper triangle is stored as exact zeros
            for (int j = i + 1; j < t; j++) Assert.Equal(T.Zero, p[i * t + j]);

        var dOut = RandomData.Array<T>(qn, 64);
        var (dq, dk, dv) = (RandomData.Poisoned<T>(qn), RandomData.Poisoned<T>(kvn), RandomData.Poisoned<T>(kvn));
        var (dqRef, dkRef, dvRef) = (new T[qn], new T[kvn], new T[kvn]);
        Attention.Backward<T>(q, k, v, pRef, dOut, dq, dk, dv, b, h, kvh, t, hs, scale);
        Attention.BackwardReference<T>(q, k, v, pRef, dOut, dqRef, dkRef, dvRef, b, h, kvh, t, hs, scale);
        AssertClose.All<T>(dqRef, dq, AssertClose.Reduction<T>(), "Attention dq");
        AssertClose.All<T>(dkRef, dk, AssertClose.Reduction<T>(), "Attention dk");
        AssertClose.All<T>(dvRef, dv, AssertClose.Reduction<T>(), "Attention dv");
    }

    [Fact]
    public void BackwardReference_MatchesFiniteDifferences()
    {
        const int b = 2, h = 4, kvh = 2, t = 5, hs = 3;
        const double scale = 0.6;
        double[] q = RandomData.Array<double>(b * h * t * hs, 65), k = RandomData.Array<double>(b * kvh * t * hs, 66);
        double[] v = RandomData.Array<double>(k.Length, 67), g = RandomData.Array<double>(q.Length, 68);
        var (o, p) = (new double[q.Length], new double[b * h * t * t]);
        double Loss()
        {
            Attention.ForwardReference<double>(q, k, v, o, p, b, h, kvh, t, hs, scale);
            return GradCheck.Dot(g, o);
        }
        var (gq, gk, gv) = (GradCheck.Numerical(q, Loss), GradCheck.Numerical(k, Loss), GradCheck.Numerical(v, Loss));
        Loss();
        var (dq, dk, dv) = (new double[q.Length], new double[k.Length], new double[v.Length]);
        Attention.BackwardReference<double>(q, k, v, p, g, dq, dk, dv, b, h, kvh, t, hs, scale);
        AssertClose.All<double>(gq, dq, GradCheck.Tolerance, "Attention dq vs finite differences");
        AssertClose.All<double>(gk, dk, GradCheck.Tolerance, "Attention dk vs finite differences");
        AssertClose.All<double>(gv, dv, GradCheck.Tolerance, "Attention dv vs finite differences");
    }

    [Fact]
    public void BadArguments_NameTheOp()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Attention.Forward<float>(new float[6], new float[4], new float[4], new float[6], new float[6], 1, 3, 2, 1, 2, 1f));
        Assert.Contains("Attention.Forward: heads (3) must be a multiple of kvHeads (2)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            Attention.Backward<float>(new float[8], new float[4], new float[4], new float[8], new float[8],
                new float[8], new float[3], new float[4], 1, 2, 1, 2, 2, 1f));
        Assert.Contains("Attention.Backward: dk has 3 elements, expected batch·kvHeads·seqLen·headSize = 4", ex.Message);
    }
}

using System.Numerics;

namespace TinyLlama.Kernels.Tests;

public class RopeTests
{
    // (batch, seqLen, heads, headSize, startPos)
    public static TheoryData<int, int, int, int, int> Sizes => new()
    {
        { 1, 1, 1, 2, 0 }, { 1, 7, 3, 6, 0 }, { 2, 33, 2, 18, 5 }, { 1, 130, 4, 64, 3 }, { 2, 513, 8, 64, 0 },
    };

    [Theory, MemberData(nameof(Sizes))]
    public void ForwardAndBackward_MatchReference(int batch, int seqLen, int heads, int headSize, int startPos)
    {
        Check<float>(batch, seqLen, heads, headSize, startPos);
        Check<double>(batch, seqLen, heads, headSize, startPos);
    }

    static void Check<T>(int batch, int seqLen, int heads, int headSize, int startPos) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int maxT = startPos + seqLen + 3, n = batch * seqLen * heads * headSize;
        var (cos, sin) = (new T[maxT * headSize / 2], new T[maxT * headSize / 2]);
        Rope.Tables<T>(maxT, headSize, 10000, cos, sin);
        var x = RandomData.Array<T>(n, 31);
        foreach (bool backward in new[] { false, true })
        {
            var y = RandomData.Poisoned<T>(n);
            var yRef = new T[n];
            Run(backward, fast: true, x, y);
            Run(backward, fast: false, x, yRef);
            AssertClose.All<T>(yRef, y, AssertClose.Elementwise<T>(), backward ? "Rope backward" : "Rope forward");

            var inPlace = (T[])x.Clone(); // y aliasing x must give the same answer
            Run(backward, fast: true, inPlace, inPlace);
            AssertClose.All<T>(yRef, inPlace, AssertClose.Elementwise<T>(), "Rope in place");
        }

        void Run(bool backward, bool fast, T[] input, T[] output)
        {
            if (backward && fast) Rope.Backward<T>(input, output, batch, seqLen, heads, headSize, cos, sin, startPos);
            else if (backward) Rope.BackwardReference<T>(input, output, batch, seqLen, heads, headSize, cos, sin, startPos);
            else if (fast) Rope.Forward<T>(input, output, batch, seqLen, heads, headSize, cos, sin, startPos);
            else Rope.ForwardReference<T>(input, output, batch, seqLen, heads, headSize, cos, sin, startPos);
        }
    }

    [Fact]
    public void Tables_HoldCosAndSinOfPositionTimesFrequency()
    {
        const int maxT = 9, hs = 8;
        var (cos, sin) = (new double[maxT * hs / 2], new double[maxT * hs / 2]);
        Rope.Tables<double>(maxT, hs, 10000, cos, sin);
        // θ_i = 10000^(−2i/8): position 5, i = 1 → angle 5 / 10000^(1/4) = 0.5.
        Assert.Equal(Math.Cos(0.5), cos[5 * 4 + 1], 15);
        Assert.Equal(Math.Sin(0.5), sin[5 * 4 + 1], 15);
        Assert.Equal(1.0, cos[0 * 4 + 3]);
        Assert.Equal(0.0, sin[0 * 4 + 3]);
    }

    [Fact]
    public void BackwardReference_MatchesFiniteDifferences()
    {
        const int b = 2, t = 3, h = 2, hs = 4, start = 2, maxT = 5;
        var (cos, sin) = (new double[maxT * hs / 2], new double[maxT * hs / 2]);
        Rope.Tables<double>(maxT, hs, 10000, cos, sin);
        double[] x = RandomData.Array<double>(b * t * h * hs, 32), g = RandomData.Array<double>(x.Length, 33);
        double Loss()
        {
            var y = new double[x.Length];
            Rope.ForwardReference<double>(x, y, b, t, h, hs, cos, sin, start);
            return GradCheck.Dot(g, y);
        }
        var dx = new double[x.Length];
        Rope.BackwardReference<double>(g, dx, b, t, h, hs, cos, sin, start);
        AssertClose.All<double>(GradCheck.Numerical(x, Loss), dx, GradCheck.Tolerance, "Rope dx vs finite differences");
    }

    [Fact]
    public void BadArguments_NameTheOp()
    {
        var (cos, sin) = (new float[4 * 2], new float[4 * 2]);
        var ex = Assert.Throws<ArgumentException>(() => Rope.Forward<float>(new float[15], new float[16], 1, 2, 2, 4, cos, sin, 0));
        Assert.Contains("Rope.Forward: x has 15 elements, expected batch·seqLen·heads·headSize = 16", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Rope.Backward<float>(new float[16], new float[16], 1, 2, 2, 4, cos, sin, 3));
        Assert.Contains("Rope.Backward: cos has 8 elements, expected at least (startPos+seqLen)·headSize/2 = 10", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Rope.Tables<float>(4, 3, 10000, new float[4], new float[4]));
    }
}

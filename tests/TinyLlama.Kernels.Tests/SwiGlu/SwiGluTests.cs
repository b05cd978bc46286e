using System.Numerics;

namespace TinyLlama.Kernels.Tests;

public class SwiGluTests
{
    public static TheoryData<int> Sizes => new() { 1, 7, 33, 130, 100_003 };

    [Theory, MemberData(nameof(Sizes))]
    public void AllFour_MatchReference(int n)
    {
        Check<float>(n);
        Check<double>(n);
    }

    static void Check<T>(int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // Scale 12 reaches the saturated tails of σ, where a careless formula overflows or loses the sign.
        var gate = RandomData.Array<T>(n, 41, 12);
        var up = RandomData.Array<T>(n, 42);
        var dy = RandomData.Array<T>(n, 43);
        double tol = AssertClose.Elementwise<T>();

        var (a, b) = (RandomData.Poisoned<T>(n), new T[n]);
        SwiGlu.SiluForward<T>(gate, a);
        SwiGlu.SiluForwardReference<T>(gate, b);
        AssertClose.All<T>(b, a, tol, "SiluForward");

        a = RandomData.Poisoned<T>(n);
        SwiGlu.SiluBackward<T>(gate, dy, a);
        SwiGlu.SiluBackwardReference<T>(gate, dy, b);
        AssertClose.All<T>(b, a, tol, "SiluBackward");

        a = RandomData.Poisoned<T>(n);
        SwiGlu.Forward<T>(gate, up, a);
        SwiGlu.ForwardReference<T>(gate, up, b);
        AssertClose.All<T>(b, a, tol, "SwiGlu.Forward");

        var (dGate, dUp) = (RandomData.Poisoned<T>(n), RandomData.Poisoned<T>(n));
        var (dGateRef, dUpRef) = (new T[n], new T[n]);
        SwiGlu.Backward<T>(gate, up, dy, dGate, dUp);
        SwiGlu.BackwardReference<T>(gate, up, dy, dGateRef, dUpRef);
        AssertClose.All<T>(dGateRef, dGate, tol, "SwiGlu dGate");
        AssertClose.All<T>(dUpRef, dUp, tol, "SwiGlu dUp");

        // Outputs written over inputs (the in-place use in a training step) give the same answer.
        var (g2, u2) = ((T[])gate.Clone(), (T[])up.Clone());
        SwiGlu.Backward<T>(g2, u2, dy, g2, u2);
        AssertClose.All<T>(dGateRef, g2, tol, "SwiGlu dGate in place");
        AssertClose.All<T>(dUpRef, u2, tol, "SwiGlu dUp in place");
    }

    [Fact]
    public void BackwardReferences_MatchFiniteDifferences()
    {
        const int n = 9;
        double[] gate = RandomData.Array<double>(n, 44, 4), up = RandomData.Array<double>(n, 45), g = RandomData.Array<double>(n, 46);
        var y = new double[n];

        double SiluLoss() { SwiGlu.SiluForwardReference<double>(gate, y); return GradCheck.Dot(g, y); }
        var dx = new double[n];
        SwiGlu.SiluBackwardReference<double>(gate, g, dx);
        AssertClose.All<double>(GradCheck.Numerical(gate, SiluLoss), dx, GradCheck.Tolerance, "Silu dx vs finite differences");

        double Loss() { SwiGlu.ForwardReference<double>(gate, up, y); return GradCheck.Dot(g, y); }
        var (dGate, dUp) = (new double[n], new double[n]);
        SwiGlu.BackwardReference<double>(gate, up, g, dGate, dUp);
        AssertClose.All<double>(GradCheck.Numerical(gate, Loss), dGate, GradCheck.Tolerance, "SwiGlu dGate vs finite differences");
        AssertClose.All<double>(GradCheck.Numerical(up, Loss), dUp, GradCheck.Tolerance, "SwiGlu dUp vs finite differences");
    }

    [Fact]
    public void BadLengths_NameTheOpAndTheBuffer()
    {
        var ex = Assert.Throws<ArgumentException>(() => SwiGlu.Forward<float>(new float[4], new float[4], new float[3]));
        Assert.Contains("SwiGlu.Forward: y has 3 elements, expected gate.Length = 4", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => SwiGlu.SiluBackward<float>(new float[4], new float[5], new float[4]));
        Assert.Contains("SwiGlu.SiluBackward: dy has 5 elements, expected x.Length = 4", ex.Message);
    }
}

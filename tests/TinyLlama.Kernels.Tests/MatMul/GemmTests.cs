using System.Runtime.Intrinsics.X86;

namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>The packed GEMM against the double-accumulating reference, on both micro-kernels and both element types.</summary>
public class GemmTests
{
    /// <summary>
    /// (m, n, k) chosen to hit the edges of the blocking: 1 and primes (ragged 6×16 tiles), exact tiles,
    /// K across the KC = 256 boundary, M across MC = 144, N across NC = 2048, and sizes big enough to go parallel
    /// (split into row strips, and, for the short wide (20, 600, 40), into column strips).
    /// </summary>
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (7, 7, 7), (33, 33, 33), (130, 130, 130), (257, 129, 65),
        (1, 130, 7), (130, 1, 33), (7, 33, 1), (6, 16, 256), (12, 32, 513),
        (150, 20, 40), (5, 2053, 3), (97, 61, 300), (20, 600, 40),
    ];

    public static TheoryData<bool, bool> Transposes => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    private static GemmKernel Fast => Gemm.DefaultKernel<float>();

    [Theory]
    [MemberData(nameof(Transposes))]
    public void FloatFastPathMatchesReference(bool transA, bool transB)
    {
        int seed = 1;
        foreach (var (m, n, k) in Shapes)
            GemmTestHelpers.CheckAgainstReference<float>(Fast, transA, transB, m, n, k, 1, 0, 0, 0, 0, seed++);
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void FloatPortablePathMatchesReference(bool transA, bool transB)
    {
        int seed = 100;
        foreach (var (m, n, k) in Shapes)
            GemmTestHelpers.CheckAgainstReference<float>(GemmKernel.Portable, transA, transB, m, n, k, 1, 0, 0, 0, 0, seed++);
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void DoubleMatchesReference(bool transA, bool transB)
    {
        int seed = 200;
        foreach (var (m, n, k) in Shapes)
            GemmTestHelpers.CheckAgainstReference<double>(GemmKernel.Portable, transA, transB, m, n, k, 1, 0, 0, 0, 0, seed++);
    }

    [Theory]
    [InlineData(false, false, 1.0, 0.0)]
    [InlineData(false, true, -0.5, 1.0)]
    [InlineData(true, false, 2.0, 0.25)]
    [InlineData(true, true, 0.75, -1.5)]
    public void PaddedStridesAndAlphaBeta(bool transA, bool transB, double alpha, double beta)
    {
        foreach (var kernel in new[] { Fast, GemmKernel.Portable })
        {
            GemmTestHelpers.CheckAgainstReference<float>(kernel, transA, transB, 37, 45, 29, alpha, beta, 3, 5, 7, seed: 300);
            GemmTestHelpers.CheckAgainstReference<float>(kernel, transA, transB, 257, 129, 65, alpha, beta, 1, 16, 9, seed: 301);
        }
        GemmTestHelpers.CheckAgainstReference<double>(GemmKernel.Portable, transA, transB, 41, 23, 300, alpha, beta, 2, 3, 4, seed: 302);
    }

    [Fact]
    public void FastPathIsAvx2WhereTheCpuHasIt()
    {
        var expected = Fma.IsSupported && Avx2.IsSupported ? GemmKernel.Avx2Fma : GemmKernel.Portable;
        Assert.Equal(expected, Gemm.DefaultKernel<float>());
        Assert.Equal(GemmKernel.Portable, Gemm.DefaultKernel<double>());
    }

    [Fact]
    public void PublicEntryPointMatchesReference()
    {
        var random = new Random(400);
        int m = 70, n = 90, k = 110;
        var a = GemmTestHelpers.RandomValues<float>(random, m * k);
        var b = GemmTestHelpers.RandomValues<float>(random, k * n);
        var c = new float[m * n];
        var expected = new float[m * n];
        c.AsSpan().Fill(float.NaN);
        Gemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        Gemm.MultiplyReference(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n);
        Assert.True(GemmTestHelpers.RelativeError<float>(c, expected, m, n, n) <= GemmTestHelpers.Tolerance<float>(k));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    public void ZeroKScalesC(double beta)
    {
        var c = new float[] { 1, 2, 3, float.NaN, 5, 6 };
        if (beta != 0) c[3] = 4;
        Gemm.Multiply(false, false, 2, 3, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 3, (float)beta, c, 3);
        float[] expected = beta == 0 ? [0, 0, 0, 0, 0, 0] : [0.5f, 1, 1.5f, 2, 2.5f, 3];
        Assert.Equal(expected, c);
    }

    [Fact]
    public void EmptyOutputIsANoOp()
    {
        var c = new float[] { 7 };
        Gemm.Multiply(false, false, 0, 5, 3, 1f, ReadOnlySpan<float>.Empty, 3, new float[15], 5, 0f, Span<float>.Empty, 5);
        Gemm.Multiply(false, false, 4, 0, 3, 1f, new float[12], 3, ReadOnlySpan<float>.Empty, 1, 0f, c.AsSpan(0, 0), 1);
        Assert.Equal(7f, c[0]);
    }
}

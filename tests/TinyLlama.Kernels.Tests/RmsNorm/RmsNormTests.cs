using System.Numerics;

namespace TinyLlama.Kernels.Tests;

public class RmsNormTests
{
    // cols = 1 is left out: there dx is 0 up to eps, pure cancellation, and no relative tolerance means anything.
    public static TheoryData<int, int> Sizes => new() { { 1, 7 }, { 7, 33 }, { 33, 130 }, { 130, 3 }, { 513, 1000 } };

    [Theory, MemberData(nameof(Sizes))]
    public void ForwardAndBackward_MatchReference(int rows, int cols)
    {
        Check<float>(rows, cols);
        Check<double>(rows, cols);
    }

    static void Check<T>(int rows, int cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var x = RandomData.Array<T>(rows * cols, 1, 2);
        var w = RandomData.Array<T>(cols, 2);
        var dy = RandomData.Array<T>(rows * cols, 3);
        T eps = T.CreateChecked(1e-5);

        var (y, inv) = (RandomData.Poisoned<T>(rows * cols), RandomData.Poisoned<T>(rows));
        var (yRef, invRef) = (new T[rows * cols], new T[rows]);
        RmsNorm.Forward<T>(x, w, y, inv, rows, cols, eps);
        RmsNorm.ForwardReference<T>(x, w, yRef, invRef, rows, cols, eps);
        AssertClose.All<T>(yRef, y, AssertClose.Reduction<T>(), "RmsNorm y");
        AssertClose.All<T>(invRef, inv, AssertClose.Reduction<T>(), "RmsNorm invRms");

        // dWeight starts non-zero to prove it accumulates (+=) rather than overwrites.
        var dx = RandomData.Poisoned<T>(rows * cols);
        var dw = RandomData.Array<T>(cols, 4);
        var dxRef = new T[rows * cols];
        var dwRef = (T[])dw.Clone();
        RmsNorm.Backward<T>(dy, x, w, invRef, dx, dw, rows, cols);
        RmsNorm.BackwardReference<T>(dy, x, w, invRef, dxRef, dwRef, rows, cols);
        AssertClose.All<T>(dxRef, dx, AssertClose.Reduction<T>(), "RmsNorm dx");
        AssertClose.All<T>(dwRef, dw, AssertClose.Reduction<T>(), "RmsNorm dWeight");
    }

    [Fact]
    public void BackwardReference_MatchesFiniteDifferences()
    {
        const int rows = 3, cols = 5;
        double[] x = RandomData.Array<double>(rows * cols, 5), w = RandomData.Array<double>(cols, 6), g = RandomData.Array<double>(rows * cols, 7);
        double Loss()
        {
            var y = new double[rows * cols];
            RmsNorm.ForwardReference<double>(x, w, y, new double[rows], rows, cols, 1e-5);
            return GradCheck.Dot(g, y);
        }
        var inv = new double[rows];
        RmsNorm.ForwardReference<double>(x, w, new double[rows * cols], inv, rows, cols, 1e-5);
        var (dx, dw) = (new double[rows * cols], new double[cols]);
        RmsNorm.BackwardReference<double>(g, x, w, inv, dx, dw, rows, cols);
        AssertClose.All<double>(GradCheck.Numerical(x, Loss), dx, GradCheck.Tolerance, "RmsNorm dx vs finite differences");
        AssertClose.All<double>(GradCheck.Numerical(w, Loss), dw, GradCheck.Tolerance, "RmsNorm dWeight vs finite differences");
    }

    [Fact]
    public void BadLengths_NameTheOpAndTheBuffer()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            RmsNorm.Forward<float>(new float[10], new float[4], new float[12], new float[3], 3, 4, 1e-5f));
        Assert.Contains("RmsNorm.Forward: x has 10 elements, expected rows·cols = 12", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            RmsNorm.Backward<float>(new float[12], new float[12], new float[4], new float[3], new float[12], new float[5], 3, 4));
        Assert.Contains("RmsNorm.Backward: dWeight has 5 elements, expected cols = 4", ex.Message);
    }
}

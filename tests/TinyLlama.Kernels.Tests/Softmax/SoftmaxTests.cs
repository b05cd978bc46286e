using System.Numerics;

namespace TinyLlama.Kernels.Tests;

public class SoftmaxTests
{
    public static TheoryData<int, int> Sizes => new() { { 1, 1 }, { 1, 7 }, { 7, 33 }, { 33, 130 }, { 3, 2100 }, { 513, 1000 } };

    [Theory, MemberData(nameof(Sizes))]
    public void ForwardAndBackward_MatchReference(int rows, int cols)
    {
        Check<float>(rows, cols);
        Check<double>(rows, cols);
    }

    static void Check<T>(int rows, int cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // Logits up to ±90 prove the max is subtracted: exp(90) overflows f32.
        var x = RandomData.Array<T>(rows * cols, 11, 90);
        var y = RandomData.Poisoned<T>(rows * cols);
        var yRef = new T[rows * cols];
        Softmax.Forward<T>(x, y, rows, cols);
        Softmax.ForwardReference<T>(x, yRef, rows, cols);
        AssertClose.All<T>(yRef, y, AssertClose.Reduction<T>(), "Softmax y");

        var smooth = RandomData.Array<T>(rows * cols, 12, 3);
        Softmax.ForwardReference<T>(smooth, yRef, rows, cols);
        var dy = RandomData.Array<T>(rows * cols, 13);
        var dx = RandomData.Poisoned<T>(rows * cols);
        var dxRef = new T[rows * cols];
        Softmax.Backward<T>(yRef, dy, dx, rows, cols);
        Softmax.BackwardReference<T>(yRef, dy, dxRef, rows, cols);
        AssertClose.All<T>(dxRef, dx, AssertClose.Reduction<T>(), "Softmax dx");
    }

    [Fact]
    public void BackwardReference_MatchesFiniteDifferences()
    {
        const int rows = 3, cols = 6;
        double[] x = RandomData.Array<double>(rows * cols, 14, 2), g = RandomData.Array<double>(rows * cols, 15);
        var y = new double[rows * cols];
        double Loss()
        {
            Softmax.ForwardReference<double>(x, y, rows, cols);
            return GradCheck.Dot(g, y);
        }
        var expected = GradCheck.Numerical(x, Loss);
        Softmax.ForwardReference<double>(x, y, rows, cols);
        var dx = new double[rows * cols];
        Softmax.BackwardReference<double>(y, g, dx, rows, cols);
        AssertClose.All<double>(expected, dx, GradCheck.Tolerance, "Softmax dx vs finite differences");
    }

    [Fact]
    public void BadLengths_NameTheOpAndTheBuffer()
    {
        var ex = Assert.Throws<ArgumentException>(() => Softmax.Forward<float>(new float[6], new float[5], 2, 3));
        Assert.Contains("Softmax.Forward: y has 5 elements, expected rows·cols = 6", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Softmax.Backward<double>(new double[6], new double[7], new double[6], 2, 3));
        Assert.Contains("Softmax.Backward: dy has 7 elements, expected rows·cols = 6", ex.Message);
    }
}

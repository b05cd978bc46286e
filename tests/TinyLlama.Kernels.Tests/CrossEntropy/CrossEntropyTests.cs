using System.Numerics;

namespace TinyLlama.Kernels.Tests;

public class CrossEntropyTests
{
    const int Ignore = -100;

    public static TheoryData<int, int> Sizes => new() { { 1, 1 }, { 1, 7 }, { 7, 33 }, { 33, 130 }, { 4, 3000 }, { 513, 1000 } };

    [Theory, MemberData(nameof(Sizes))]
    public void ForwardAndBackward_MatchReference(int rows, int vocab)
    {
        Check<float>(rows, vocab);
        Check<double>(rows, vocab);
    }

    static void Check<T>(int rows, int vocab) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var logits = RandomData.Array<T>(rows * vocab, 21, 20);
        var targets = RandomData.Ints(rows, 22, vocab);
        if (rows > 2) targets[1] = Ignore;

        var lse = RandomData.Poisoned<T>(rows);
        var lseRef = new T[rows];
        T loss = CrossEntropy.Forward<T>(logits, targets, lse, rows, vocab, Ignore, out int count);
        T lossRef = CrossEntropy.ForwardReference<T>(logits, targets, lseRef, rows, vocab, Ignore, out int countRef);
        Assert.Equal(countRef, count);
        Assert.Equal(rows > 2 ? rows - 1 : rows, count);
        AssertClose.Scalar(double.CreateChecked(lossRef), double.CreateChecked(loss), AssertClose.Reduction<T>(), "CrossEntropy loss");
        AssertClose.All<T>(lseRef, lse, AssertClose.Reduction<T>(), "CrossEntropy logSumExp");

        T scale = T.CreateChecked(0.75 / count);
        var d = RandomData.Poisoned<T>(rows * vocab);
        var dRef = new T[rows * vocab];
        CrossEntropy.Backward<T>(logits, targets, lseRef, scale, d, rows, vocab, Ignore);
        CrossEntropy.BackwardReference<T>(logits, targets, lseRef, scale, dRef, rows, vocab, Ignore);
        AssertClose.All<T>(dRef, d, AssertClose.Reduction<T>(), "CrossEntropy dLogits");
        if (rows > 2) Assert.All(d.AsSpan(vocab, vocab).ToArray(), v => Assert.Equal(T.Zero, v));
    }

    [Fact]
    public void AllRowsIgnored_GivesZeroLossAndZeroCount()
    {
        T0<float>();
        static void T0<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
        {
            var logits = RandomData.Array<T>(2 * 5, 23);
            T loss = CrossEntropy.Forward<T>(logits, [Ignore, Ignore], new T[2], 2, 5, Ignore, out int count);
            Assert.Equal(0, count);
            Assert.Equal(T.Zero, loss);
        }
    }

    [Fact]
    public void BackwardReference_MatchesFiniteDifferencesOfTheMeanLoss()
    {
        const int rows = 4, vocab = 6;
        double[] x = RandomData.Array<double>(rows * vocab, 24, 2);
        int[] targets = [3, Ignore, 0, 5];
        double Loss() => CrossEntropy.ForwardReference<double>(x, targets, new double[rows], rows, vocab, Ignore, out _);
        var expected = GradCheck.Numerical(x, Loss);
        var lse = new double[rows];
        CrossEntropy.ForwardReference<double>(x, targets, lse, rows, vocab, Ignore, out int count);
        var dx = new double[rows * vocab];
        CrossEntropy.BackwardReference<double>(x, targets, lse, 1.0 / count, dx, rows, vocab, Ignore);
        AssertClose.All<double>(expected, dx, GradCheck.Tolerance, "CrossEntropy dLogits vs finite differences");
    }

    [Fact]
    public void OutOfRangeTarget_NamesTheRowAndTheTarget()
    {
        var logits = new float[3 * 4];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            CrossEntropy.Forward<float>(logits, [1, 4, 2], new float[3], 3, 4, Ignore, out _));
        Assert.Contains("target 4 at row 1", ex.Message);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            CrossEntropy.Backward<float>(logits, [1, 2, -1], new float[3], 1f, new float[12], 3, 4, Ignore));
        Assert.Contains("target -1 at row 2", ex.Message);
    }

    [Fact]
    public void BadLengths_NameTheOpAndTheBuffer()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            CrossEntropy.Forward<float>(new float[12], [0, 1, 2], new float[2], 3, 4, Ignore, out _));
        Assert.Contains("CrossEntropy.Forward: logSumExp has 2 elements, expected rows = 3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            CrossEntropy.Backward<float>(new float[12], [0, 1, 2], new float[3], 1f, new float[11], 3, 4, Ignore));
        Assert.Contains("CrossEntropy.Backward: dLogits has 11 elements, expected rows·vocab = 12", ex.Message);
    }
}

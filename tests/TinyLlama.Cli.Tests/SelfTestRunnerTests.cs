using TinyLlama.Cli.SelfTest;

namespace TinyLlama.Cli.Tests;

/// <summary>The runner, the error measure and the table, on made-up checks: independent of the kernels.</summary>
public class SelfTestRunnerTests
{
    private static KernelCheck Check(string op, float[] fast, float[] reference, double tolerance = 1e-5) =>
        new(op, "n=" + fast.Length, tolerance, () => [fast], () => [reference]);

    private static (bool Passed, string Output) Run(params KernelCheck[] checks)
    {
        var output = new StringWriter();
        bool passed = SelfTestRunner.Run(checks, output);
        return (passed, output.ToString());
    }

    [Fact]
    public void MatchingOutputsPass()
    {
        var (passed, output) = Run(Check("same", [1f, -2f, 3f], [1f, -2f, 3f]));

        Assert.True(passed, output);
        Assert.Contains("PASS", output);
        Assert.EndsWith("summary: 1 checks, 1 passed, 0 failed" + Environment.NewLine, output);
    }

    [Fact]
    public void ErrorAboveToleranceFails()
    {
        var (passed, output) = Run(Check("off", [1f, 2f], [1f, 2.001f]));

        Assert.False(passed);
        Assert.Contains("FAIL", output);
        Assert.Contains("1 failed", output);
    }

    [Fact]
    public void NaNFailsEvenWithAnyTolerance()
    {
        var (passed, output) = Run(Check("nan", [float.NaN, 1f], [0.5f, 1f], tolerance: double.MaxValue));

        Assert.False(passed);
        Assert.Contains("NaN", output);
    }

    [Fact]
    public void ThrowingCheckFailsAloneAndTheOthersStillRun()
    {
        var throwing = new KernelCheck("throws", "n=1", 1e-5, () => throw new NotImplementedException("stub"), () => [[0f]]);
        var (passed, output) = Run(throwing, Check("fine", [1f], [1f]));

        Assert.False(passed);
        Assert.Contains("throws: NotImplementedException: stub", output);
        Assert.Contains("summary: 2 checks, 1 passed, 1 failed", output);
    }

    [Fact]
    public void AnEmptyListIsNotASuccess()
    {
        Assert.False(Run().Passed);
    }

    [Fact]
    public void ColumnsLineUp()
    {
        var (_, output) = Run(Check("a", [1f], [1f]), Check("a much longer op name", [1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f], new float[10]));
        var lines = output.Split(Environment.NewLine).Where(l => l.EndsWith("PASS") || l.EndsWith("FAIL") || l.EndsWith("result")).ToList();

        Assert.Equal(3, lines.Count);
        // The result column (the last word) starts at the same place on the header and on every row.
        Assert.Single(lines.Select(l => l.LastIndexOf(' ')).Distinct());
    }

    [Fact]
    public void ErrorIsScaledByTheLargestReferenceMagnitude()
    {
        Assert.Equal(0.01, ErrorMeasure.MaxRelative([10f, 0.01f], [10f, 0.11f]), 6);
        // An all-zero reference falls back to an absolute error instead of dividing by zero.
        Assert.True(ErrorMeasure.MaxRelative([0f, 0f], [0f, 0f]) == 0);
        Assert.True(ErrorMeasure.MaxRelative([1e-3f], [0f]) > 1);
        Assert.True(double.IsNaN(ErrorMeasure.MaxRelative([1f], [float.NaN])));
        Assert.Throws<InvalidOperationException>(() => ErrorMeasure.MaxRelative([1f], [1f, 2f]));
    }

    [Fact]
    public void LongSumsGetTheReductionTolerance()
    {
        Assert.Equal(Tolerances.Elementwise, Tolerances.ForSum(Tolerances.ShortSum));
        Assert.Equal(Tolerances.Reduction, Tolerances.ForSum(Tolerances.ShortSum + 1));
        Assert.Equal(1e-5, Tolerances.Elementwise);
        Assert.Equal(1e-4, Tolerances.Reduction);
    }
}

using TinyLlama.Training.Metrics;

namespace TinyLlama.Training.Tests.Metrics;

public class AxisTicksTests
{
    [Theory]
    [InlineData(2.13, 10.41, 6, 2, 12, 2)]
    [InlineData(1, 1000, 8, 0, 1000, 200)]
    [InlineData(3.41, 3.93, 6, 3.4, 4.0, 0.1)]
    [InlineData(-0.35, 0.72, 5, -0.5, 1.0, 0.5)]
    public void Widens_to_round_numbers(double min, double max, int target, double expectedMin, double expectedMax, double expectedStep)
    {
        var axis = AxisTicks.For(min, max, target);
        Assert.Equal(expectedMin, axis.Min, 1e-12);
        Assert.Equal(expectedMax, axis.Max, 1e-12);
        Assert.Equal(expectedStep, axis.Step, 1e-12);
        Assert.True(axis.Values[0] <= min && axis.Values[^1] >= max);
    }

    [Fact]
    public void A_single_value_gets_a_range_around_it()
    {
        var axis = AxisTicks.For(4, 4, 6);
        Assert.True(axis.Min < 4 && axis.Max > 4);
        var steps = AxisTicks.For(7, 7, 8, minStep: 1);
        Assert.True(steps.Step >= 1);
        Assert.True(steps.Min < 7 && steps.Max > 7);
    }

    [Fact]
    public void Labels_have_the_decimals_the_step_needs()
    {
        var axis = AxisTicks.For(0.1, 0.7, 6);
        Assert.Equal(["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"], axis.Values.Select(axis.Label));
        var thousands = AxisTicks.For(0, 50_000, 5, minStep: 1);
        Assert.Equal(["0", "10k", "20k", "30k", "40k", "50k"], thousands.Values.Select(thousands.Label));
        var big = AxisTicks.For(0, 1_400_000, 7, minStep: 1);
        Assert.Equal(["0", "0.2M", "0.4M", "0.6M", "0.8M", "1.0M", "1.2M", "1.4M"], big.Values.Select(big.Label));
        var huge = AxisTicks.For(0, 30_000_000, 6);
        Assert.Equal("15M", huge.Label(15_000_000));
    }
}

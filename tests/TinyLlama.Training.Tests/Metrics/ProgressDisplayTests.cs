using TinyLlama.Training.Metrics;

namespace TinyLlama.Training.Tests.Metrics;

public class ProgressDisplayTests
{
    /// <summary>Steps of 0.5 s each; loss falls as 4 + 1/step, throughput is 1,450.7 tokens/s.</summary>
    private static StepMetrics Step(int step, double secondsPerStep = 0.5) =>
        new(step, 4 + 1.0 / step, 3e-4, 1, 1450.7, step * secondsPerStep, 1024L * step);

    [Fact]
    public void Plain_mode_prints_the_first_every_nth_and_last_step()
    {
        var output = new StringWriter();
        using (var progress = new ProgressDisplay(output, live: false, totalSteps: 25, plainEvery: 10))
        {
            for (int s = 1; s <= 25; s++)
                progress.Update(Step(s));
        }

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("step 1/25 |", lines[0]);
        Assert.StartsWith("step 10/25 |", lines[1]);
        Assert.StartsWith("step 20/25 |", lines[2]);
        Assert.Equal("step 25/25 | loss 4.040 | 1,451 tok/s | lr 3.0e-4 | elapsed 0:13 | ETA 0:00", lines[3]);
        Assert.DoesNotContain('\r', output.ToString());
    }

    [Fact]
    public void ETA_is_the_recent_step_time_times_the_steps_left()
    {
        var output = new StringWriter();
        var progress = new ProgressDisplay(output, live: false, totalSteps: 1000, plainEvery: 100);
        // Slow first steps (warm-up), then 0.5 s per step: the estimate follows the recent speed.
        for (int s = 1; s <= 100; s++)
            progress.Update(new StepMetrics(s, 4, 3e-4, 1, 1000, s <= 10 ? s * 5.0 : 50 + (s - 10) * 0.5, s));

        string last = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.Contains("step 100/1000", last);
        Assert.Contains("elapsed 1:35", last);
        Assert.EndsWith("ETA 7:30", last); // 900 steps × 0.5 s
    }

    [Fact]
    public void ETA_of_a_time_budget_is_the_time_left()
    {
        var output = new StringWriter();
        var progress = new ProgressDisplay(output, live: false, timeBudget: TimeSpan.FromHours(2));
        progress.Update(Step(1, secondsPerStep: 83));
        Assert.Equal("step 1 | loss 5.000 | 1,451 tok/s | lr 3.0e-4 | elapsed 1:23 | ETA 1:58:37\n", output.ToString().Replace("\r\n", "\n"));
    }

    [Fact]
    public void With_both_a_step_count_and_a_time_budget_the_earlier_end_wins()
    {
        var output = new StringWriter();
        var progress = new ProgressDisplay(output, live: false, totalSteps: 1000, timeBudget: TimeSpan.FromSeconds(60), plainEvery: 10);
        for (int s = 1; s <= 10; s++)
            progress.Update(Step(s)); // 0.5 s per step: 495 s to go by steps, 55 s by the budget
        Assert.EndsWith("ETA 0:55", output.ToString().TrimEnd());
    }

    [Fact]
    public void Without_an_end_there_is_no_ETA()
    {
        var output = new StringWriter();
        new ProgressDisplay(output, live: false).Update(Step(3));
        Assert.Contains("ETA --:--", output.ToString());
    }

    [Fact]
    public void Live_mode_rewrites_one_line_in_place()
    {
        var output = new StringWriter();
        using (var progress = new ProgressDisplay(output, live: true, totalSteps: 100))
        {
            progress.Update(Step(9));
            progress.Update(Step(10));
        }

        string text = output.ToString();
        string[] frames = text.Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, frames.Length);
        Assert.StartsWith("step 9/100 | loss 4.111 |", frames[0]);
        Assert.StartsWith("step 10/100 | loss 4.100 |", frames[1]);
        Assert.EndsWith("\n", text);
        Assert.Single(text, '\n');
    }

    [Fact]
    public void Fast_steps_are_drawn_at_most_ten_times_a_second_and_the_last_always()
    {
        var output = new StringWriter();
        using (var progress = new ProgressDisplay(output, live: true, totalSteps: 1000))
        {
            for (int s = 1; s <= 1000; s++)
                progress.Update(Step(s, secondsPerStep: 0.01));
        }
        string[] frames = output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(frames.Length, 90, 102);
        Assert.StartsWith("step 1/1000 |", frames[0]);
        Assert.StartsWith("step 1000/1000 |", frames[^1]);
    }

    [Fact]
    public void A_shorter_live_line_is_padded_over_the_longer_one()
    {
        var output = new StringWriter();
        var progress = new ProgressDisplay(output, live: true);
        progress.Update(Step(99_999));
        progress.Update(Step(100_000) with { TokensPerSecond = 5, ElapsedSeconds = 1 });

        string[] frames = output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(frames[0].Length, frames[1].Length);
        // The second line is shorter: spaces cover what is left of the first.
        Assert.EndsWith("ETA --:--", frames[1].TrimEnd(' '));
        Assert.True(frames[1].TrimEnd(' ').Length < frames[0].Length);
    }

    [Fact]
    public void Messages_go_above_the_live_line_which_is_redrawn()
    {
        var output = new StringWriter();
        var progress = new ProgressDisplay(output, live: true, totalSteps: 100);
        progress.Update(Step(50));
        progress.Report(new ValidationMetrics(50, Math.Log(30)));

        string[] frames = output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, frames.Length);
        Assert.StartsWith("step 50 | val_loss 3.401 | val_ppl 30.00", frames[1]);
        Assert.EndsWith("\n", frames[1]);
        Assert.Equal(frames[0], frames[2]);
    }

    [Fact]
    public void The_live_line_is_kept_narrower_than_the_terminal()
    {
        var output = new StringWriter();
        new ProgressDisplay(output, live: true, totalSteps: 100, width: 40).Update(Step(1));
        Assert.Equal(39, output.ToString().TrimStart('\r').Length);
    }

    [Fact]
    public void Non_finite_loss_is_shown_as_such()
    {
        var output = new StringWriter();
        new ProgressDisplay(output, live: false).Update(Step(1) with { Loss = double.NaN });
        Assert.Contains("loss NaN |", output.ToString());
    }

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(59.4, "0:59")]
    [InlineData(83, "1:23")]
    [InlineData(3600, "1:00:00")]
    [InlineData(100_000, "27:46:40")]
    public void Durations(double seconds, string expected) =>
        Assert.Equal(expected, ProgressDisplay.Duration(TimeSpan.FromSeconds(seconds)));
}

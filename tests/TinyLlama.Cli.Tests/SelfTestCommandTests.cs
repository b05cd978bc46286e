using TinyLlama.Cli.SelfTest;

namespace TinyLlama.Cli.Tests;

/// <summary>
/// The self-test end to end on the CPU kernels. These fail while a kernel is missing or wrong, which is the point:
/// they are the same check a user runs on a new machine.
/// </summary>
public class SelfTestCommandTests
{
    [Fact]
    public void SmallSelfTestPassesEveryCheck()
    {
        var result = CliRunner.Run("selftest", "--size", "small", "--seed", "7");

        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = TableRows(result.Output);
        int expected = CpuChecks.Create(SelfTestShapes.Small, seed: 7).Count;
        Assert.Equal(expected, rows.Count);
        Assert.All(rows, row => Assert.EndsWith("PASS", row));
        Assert.Contains($"summary: {expected} checks, {expected} passed, 0 failed", result.Output);
    }

    [Fact]
    public void SameSeedPrintsTheSameReport()
    {
        var first = CliRunner.Run("selftest", "--size", "small", "--seed", "11");
        var second = CliRunner.Run("selftest", "--size", "small", "--seed", "11");

        Assert.Equal(first.Output, second.Output);
    }

    // Rows are the lines between the header (starting "op") and the summary, excluding indented failure details.
    private static List<string> TableRows(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        int header = lines.FindIndex(l => l.StartsWith("op ", StringComparison.Ordinal));
        int summary = lines.FindIndex(l => l.StartsWith("summary:", StringComparison.Ordinal));
        Assert.True(header >= 0 && summary > header, output);
        return lines.Skip(header + 1).Take(summary - header - 1).Where(l => !l.StartsWith(' ')).ToList();
    }
}

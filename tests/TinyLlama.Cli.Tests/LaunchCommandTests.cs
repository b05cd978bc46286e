using System.Diagnostics;

namespace TinyLlama.Cli.Tests;

/// <summary>
/// <c>launch</c> and <c>bench allreduce</c> end to end: the built CLI, run as a real process, starts real ranks that
/// rendezvous over 127.0.0.1 and all-reduce.
/// </summary>
public sealed class LaunchCommandTests
{
    static CliRunner.Result RunBuiltCli(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "TinyLlama.Cli.dll");
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var name in new[] { "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT" }) start.Environment.Remove(name);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the CLI did not finish in 90 s");
        }
        return new CliRunner.Result(process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    [Fact]
    public void Launch_RunsTheRanksAndPrefixesTheirOutput()
    {
        var r = RunBuiltCli("launch", "--nproc", "2", "--", "bench", "allreduce", "--size", "0.00390625", "0.25", "--seconds", "0.05", "--dtype", "both");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("[rank 0] bench allreduce: 2 ranks", r.Output);
        var rows = r.Output.Split('\n').Where(l => l.StartsWith("[rank 0] ", StringComparison.Ordinal) && (l.Contains(" f32 ") || l.Contains(" bf16 "))).ToList();
        Assert.Equal(4, rows.Count); // two sizes, two types
        Assert.All(rows, row => Assert.EndsWith(" 0", row.TrimEnd())); // #wrong
        Assert.DoesNotContain("[rank 1] ", r.Output); // only rank 0 prints the table
    }

    [Fact]
    public void Launch_AFailingRankFailsTheJobNamingTheRank()
    {
        var r = RunBuiltCli("launch", "--nproc", "2", "--", "bench", "allreduce", "--size", "-1");
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"launch: rank [01] exited with code 1; stopped the other ranks", r.Error);
        Assert.Contains("--size -1", r.Error);
    }

    [Fact]
    public void BenchAllReduce_StartsItsOwnRanksWhenNotLaunched()
    {
        var r = RunBuiltCli("bench", "allreduce", "--nproc", "3", "--size", "0.5", "--seconds", "0.05");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("[rank 0] bench allreduce: 3 ranks", r.Output);
        Assert.Contains(" f32 ", r.Output);
    }

    [Fact]
    public void Launch_WithoutACommand_IsAParseError()
    {
        var r = CliRunner.Run("launch", "--nproc", "2");
        Assert.NotEqual(0, r.ExitCode);
    }
}

using System.Diagnostics;

namespace TinyLlama.Distributed.Tests;

/// <summary>The launcher, driving /bin/sh as the ranks' program: environment, prefixed output, and all-or-nothing exits.</summary>
[Collection(TimingCollection.Name)]
public sealed class LauncherTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("tl-launch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static (int ExitCode, string Output, string Error, TimeSpan Elapsed) Launch(int ranks, string script)
    {
        Skip.IfNot(File.Exists("/bin/sh"), "needs /bin/sh to play the ranks");
        var output = new StringWriter();
        var error = new StringWriter();
        var clock = Stopwatch.StartNew();
        int code = LocalLauncher.Run(new LaunchOptions
        {
            ProcessCount = ranks,
            Program = new ProgramToStart("/bin/sh", ["-c", script]),
            Arguments = [],
        }, output, error);
        return (code, output.ToString(), error.ToString(), clock.Elapsed);
    }

    [SkippableFact]
    public void EveryRankGetsItsEnvironmentAndItsOutputComesBackPrefixed()
    {
        var (code, output, error, _) = Launch(3,
            "echo \"hello $RANK of $WORLD_SIZE local $LOCAL_RANK at $MASTER_ADDR:$MASTER_PORT token ${#TINYLLAMA_JOB_TOKEN}\"; echo \"complaint $RANK\" >&2");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        for (int rank = 0; rank < 3; rank++)
        {
            Assert.Contains(lines, l => l.StartsWith($"[rank {rank}] hello {rank} of 3 local {rank} at 127.0.0.1:", StringComparison.Ordinal) && l.EndsWith(" token 32", StringComparison.Ordinal));
            Assert.Contains($"[rank {rank}] complaint {rank}", error);
        }
        // One job: one port and one token for all ranks.
        Assert.Single(lines.Select(l => l.Split(" at ")[1]).Distinct());
    }

    [SkippableFact]
    public void OneFailingRank_StopsTheOthersAndTheLauncherNamesIt()
    {
        var (code, output, error, elapsed) = Launch(3, "if [ \"$RANK\" = 1 ]; then sleep 0.3; exit 3; fi; sleep 30; echo survived");
        Assert.Equal(3, code);
        Assert.Contains("launch: rank 1 exited with code 3; stopped the other ranks", error);
        Assert.DoesNotContain("survived", output);
        Assert.True(elapsed < TimeSpan.FromSeconds(15), $"took {elapsed}");
    }

    [SkippableFact]
    public void StoppingARank_StopsItsChildrenToo()
    {
        string pidFile = Path.Combine(_dir, "grandchild");
        var (code, _, error, _) = Launch(2, $"if [ \"$RANK\" = 1 ]; then sleep 0.5; exit 2; fi; sleep 30 & echo $! > {pidFile}; wait");
        Assert.Equal(2, code);
        int grandchild = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        while (IsRunning(grandchild) && clock.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(50);
        Assert.False(IsRunning(grandchild), $"rank 0's child {grandchild} outlived the job; {error}");
    }

    static bool IsRunning(int pid)
    {
        string stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return false;
        try { return File.ReadAllText(stat).Split(") ")[1][0] != 'Z'; } // a zombie is dead, only not yet reaped
        catch (IOException) { return false; }
    }

    [Fact]
    public void BadProcessCount_IsAClearError() =>
        Assert.Contains("--nproc 0", Assert.Throws<ArgumentException>(() => LocalLauncher.Run(new LaunchOptions
        {
            ProcessCount = 0,
            Program = new ProgramToStart("/bin/true", []),
            Arguments = [],
        }, TextWriter.Null, TextWriter.Null)).Message);
}

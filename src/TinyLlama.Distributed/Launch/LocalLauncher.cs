using TinyLlama.Kernels;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace TinyLlama.Distributed;

public sealed record LaunchOptions
{
    public required int ProcessCount { get; init; }
    /// <summary>0: pick a free port.</summary>
    public int MasterPort { get; init; }
    public required ProgramToStart Program { get; init; }
    public required IReadOnlyList<string> Arguments { get; init; }
    /// <summary>Passed to the ranks as TINYLLAMA_DIST_TIMEOUT when set.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>How long ranks get to exit after SIGTERM before they are killed.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Starts N ranks of a program on this machine, as <c>torchrun --standalone</c> does: each gets <c>RANK</c>,
/// <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c>, <c>MASTER_ADDR=127.0.0.1</c>, <c>MASTER_PORT</c> and a fresh job token; their
/// output comes back line by line prefixed with <c>[rank k]</c>. The first rank to exit non-zero stops the others
/// (their whole process trees), and the launcher exits non-zero naming it — a job is all or nothing. SIGINT and
/// SIGTERM are passed on to the ranks.
/// </summary>
public static partial class LocalLauncher
{
    public static int Run(LaunchOptions options, TextWriter output, TextWriter error)
    {
        if (options.ProcessCount < 1) throw new ArgumentException($"--nproc {options.ProcessCount}: expected at least 1");
        if (options.MasterPort is < 0 or > 65535) throw new ArgumentException($"--master-port {options.MasterPort}: expected 1..65535");
        int port = options.MasterPort == 0 ? FreePort() : options.MasterPort;
        string token = Guid.NewGuid().ToString("N");
        var writeLock = new object();
        var ranks = new Process[options.ProcessCount];
        var stopping = new CancellationTokenSource();
        int signalled = 0;

        void Forward(int rank, string? line, TextWriter to)
        {
            if (line is null) return;
            lock (writeLock) to.WriteLine($"[rank {rank}] {line}");
        }

        using var interrupt = Register(PosixSignal.SIGINT);
        using var terminate = Register(PosixSignal.SIGTERM);
        PosixSignalRegistration? Register(PosixSignal signal)
        {
            try
            {
                return PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true; // the launcher stays up to stop its ranks and report
                    Interlocked.CompareExchange(ref signalled, (int)signal, 0);
                    stopping.Cancel();
                });
            }
            catch (PlatformNotSupportedException)
            {
                return null;
            }
        }

        try
        {
            for (int rank = 0; rank < ranks.Length; rank++)
            {
                var start = new ProcessStartInfo(options.Program.FileName)
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                foreach (var a in options.Program.LeadingArguments.Concat(options.Arguments)) start.ArgumentList.Add(a);
                start.Environment["RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                start.Environment["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                start.Environment["WORLD_SIZE"] = ranks.Length.ToString(CultureInfo.InvariantCulture);
                start.Environment["LOCAL_WORLD_SIZE"] = ranks.Length.ToString(CultureInfo.InvariantCulture);
                start.Environment["MASTER_ADDR"] = "127.0.0.1";
                start.Environment["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
                start.Environment[DistributedEnvironment.JobTokenVariable] = token;
                // N ranks on one machine share its cores: each gets its part unless the user chose (torchrun sets
                // OMP_NUM_THREADS=1 for the same reason). Without this every rank's kernels start a thread per core.
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(CpuParallel.ThreadsVariable)))
                    start.Environment[CpuParallel.ThreadsVariable] =
                        Math.Max(1, Environment.ProcessorCount / ranks.Length).ToString(CultureInfo.InvariantCulture);
                if (options.Timeout is { } t)
                    start.Environment[DistributedEnvironment.TimeoutVariable] = t.TotalSeconds.ToString(CultureInfo.InvariantCulture);
                int k = rank;
                var process = new Process { StartInfo = start };
                process.OutputDataReceived += (_, e) => Forward(k, e.Data, output);
                process.ErrorDataReceived += (_, e) => Forward(k, e.Data, error);
                try
                {
                    process.Start();
                }
                catch (System.ComponentModel.Win32Exception e)
                {
                    throw new IOException($"launch: cannot start rank {rank} ({options.Program.FileName}): {e.Message}", e);
                }
                ranks[rank] = process;
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
            }

            var (failedRank, exitCode) = WaitForAll(ranks, stopping.Token);
            if (signalled != 0)
            {
                StopAll(ranks, options.GracePeriod);
                error.WriteLine($"launch: stopped all {ranks.Length} ranks on {(PosixSignal)signalled}");
                return 128 + ((PosixSignal)signalled == PosixSignal.SIGINT ? 2 : 15);
            }
            if (failedRank < 0) return 0;
            KillAll(ranks);
            error.WriteLine($"launch: rank {failedRank} exited with code {exitCode}; stopped the other ranks");
            return exitCode is > 0 and < 256 ? exitCode : 1;
        }
        finally
        {
            KillAll(ranks);
            foreach (var p in ranks) p?.Dispose();
        }
    }

    /// <summary>Waits until every rank exited 0, the first one exits non-zero, or a signal arrives.</summary>
    static (int Rank, int ExitCode) WaitForAll(Process[] ranks, CancellationToken stopping)
    {
        var running = ranks.Select((p, rank) => (Task: p.WaitForExitAsync(CancellationToken.None), Rank: rank)).ToList();
        var stopped = Task.Delay(Timeout.Infinite, stopping);
        while (running.Count > 0)
        {
            var tasks = running.Select(r => r.Task).Append(stopped).ToArray();
            int done = Task.WaitAny(tasks);
            if (done == tasks.Length - 1) return (-1, 0);
            var (_, rank) = running[done];
            running.RemoveAt(done);
            ranks[rank].WaitForExit(); // also drains the redirected output
            if (ranks[rank].ExitCode != 0) return (rank, ranks[rank].ExitCode);
        }
        return (-1, 0);
    }

    static void StopAll(Process[] ranks, TimeSpan grace)
    {
        if (!OperatingSystem.IsWindows())
            foreach (var p in ranks)
                if (p is not null && !HasExited(p)) _ = SendSignal(p.Id, 15 /* SIGTERM */);
        var deadline = Stopwatch.StartNew();
        foreach (var p in ranks)
        {
            var left = grace - deadline.Elapsed;
            if (p is not null && left > TimeSpan.Zero) p.WaitForExit(left);
        }
        KillAll(ranks);
    }

    static void KillAll(Process?[] ranks)
    {
        foreach (var p in ranks)
        {
            if (p is null || HasExited(p)) continue;
            try
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(TimeSpan.FromSeconds(10));
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
        }
    }

    static bool HasExited(Process p)
    {
        try { return p.HasExited; }
        catch (InvalidOperationException) { return true; }
    }

    static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    // POSIX kill(2) from the C library every .NET process already loads: .NET has no managed way to send SIGTERM.
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}

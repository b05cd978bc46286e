using System.Net;
using System.Net.Sockets;

namespace TinyLlama.Distributed.Tests;

/// <summary>Runs the ranks of a job as threads of this process, each with its own process group on 127.0.0.1.</summary>
internal static class RankThreads
{
    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public static DistributedSettings Settings(int rank, int worldSize, int port, string token, double timeoutSeconds = 20) =>
        new(rank, worldSize, rank, "127.0.0.1", port, token, TimeSpan.FromSeconds(timeoutSeconds), "test");

    /// <summary>Every rank forms a group and runs <paramref name="body"/>; returns each rank's result, or throws the first rank's exception.</summary>
    public static T[] Run<T>(int worldSize, Func<TcpProcessGroup, T> body, int segmentBytes = TcpProcessGroup.DefaultSegmentBytes,
        int smallBytes = TcpProcessGroup.DefaultSmallAllReduceBytes)
    {
        var outcomes = RunEach(worldSize, rank => Settings(rank, worldSize, 0, ""), (_, group) => body(group), segmentBytes, smallBytes);
        foreach (var outcome in outcomes)
            if (outcome.Error is not null) throw new Xunit.Sdk.XunitException($"a rank failed: {outcome.Error}");
        return outcomes.Select(o => o.Value!).ToArray();
    }

    public sealed record Outcome<T>(T? Value, Exception? Error, TimeSpan Elapsed);

    /// <summary>
    /// Each rank gets its settings from <paramref name="settings"/> (port 0 and token "" are replaced by one fresh port
    /// and token for the job), forms a group and runs <paramref name="body"/>; each rank's value or exception comes back.
    /// </summary>
    public static Outcome<T>[] RunEach<T>(int worldSize, Func<int, DistributedSettings> settings, Func<int, TcpProcessGroup, T> body,
        int segmentBytes = TcpProcessGroup.DefaultSegmentBytes, int smallBytes = TcpProcessGroup.DefaultSmallAllReduceBytes)
    {
        int port = FreePort();
        string token = Guid.NewGuid().ToString("N");
        var threads = new Thread[worldSize];
        var outcomes = new Outcome<T>[worldSize];
        for (int rank = 0; rank < worldSize; rank++)
        {
            int r = rank;
            threads[r] = new Thread(() =>
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    var s = settings(r);
                    if (s.MasterPort == 0) s = s with { MasterPort = port };
                    if (s.JobToken == "") s = s with { JobToken = token };
                    using var group = TcpProcessGroup.Create(s, segmentBytes, smallBytes);
                    outcomes[r] = new Outcome<T>(body(r, group), null, clock.Elapsed);
                }
                catch (Exception e)
                {
                    outcomes[r] = new Outcome<T>(default, e, clock.Elapsed);
                }
            }) { IsBackground = true, Name = $"test rank {r}" };
            threads[r].Start();
        }
        foreach (var thread in threads)
            if (!thread.Join(TimeSpan.FromSeconds(60))) throw new TimeoutException("a rank thread hung for 60 s");
        return outcomes;
    }
}

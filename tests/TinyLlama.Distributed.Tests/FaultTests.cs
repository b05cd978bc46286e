using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TinyLlama.Distributed.Tests;

/// <summary>A broken job fails on every rank, promptly, with an exception that names the peer — never a hang.</summary>
[Collection(TimingCollection.Name)]
public sealed class FaultTests
{
    [Fact]
    public void WrongJobToken_IsRefusedOnBothSides()
    {
        var outcomes = RankThreads.RunEach(2, r => RankThreads.Settings(r, 2, 0, r == 1 ? "intruder" : "", timeoutSeconds: 1.5), (_, g) => 0);
        var joiner = Assert.IsType<HandshakeRefusedException>(outcomes[1].Error);
        Assert.Contains("job token does not match", joiner.Message);
        var host = Assert.IsType<RendezvousException>(outcomes[0].Error);
        Assert.Contains("different job token", host.Message); // rank 0 says why its rendezvous never completed
        Assert.True(outcomes[0].Elapsed < TimeSpan.FromSeconds(1.5 + 3), $"rank 0 took {outcomes[0].Elapsed}");
    }

    [Fact]
    public void WrongWorldSize_FailsEveryRankPromptly()
    {
        var outcomes = RankThreads.RunEach(2, r => RankThreads.Settings(r, r == 1 ? 3 : 2, 0, "", timeoutSeconds: 20), (_, g) => 0);
        Assert.All(outcomes, o =>
        {
            Assert.IsAssignableFrom<RendezvousException>(o.Error);
            Assert.Contains("world size is 3, but rank 0 says 2", o.Error!.Message);
            Assert.True(o.Elapsed < TimeSpan.FromSeconds(5), $"took {o.Elapsed}");
        });
    }

    [Fact]
    public void DuplicateRank_FailsEveryRankPromptly()
    {
        var outcomes = RankThreads.RunEach(3, r => RankThreads.Settings(r == 2 ? 1 : r, 3, 0, "", timeoutSeconds: 20), (_, g) => 0);
        Assert.All(outcomes, o =>
        {
            Assert.IsAssignableFrom<RendezvousException>(o.Error);
            Assert.Contains("rank 1 joined twice", o.Error!.Message);
            Assert.True(o.Elapsed < TimeSpan.FromSeconds(5), $"took {o.Elapsed}");
        });
    }

    [Fact]
    public void RendezvousDeadline_NamesTheRankThatNeverCame()
    {
        int port = RankThreads.FreePort();
        var clock = Stopwatch.StartNew();
        var e = Assert.ThrowsAny<RendezvousException>(() => TcpProcessGroup.Create(RankThreads.Settings(0, 3, port, "t", timeoutSeconds: 1)));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 1 + 3);
        Assert.Contains("missing: 1, 2", e.Message);
    }

    [Fact]
    public void PortInUse_IsARendezvousErrorNamingTheAddress()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        squatter.Listen();
        int port = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        var e = Assert.Throws<RendezvousException>(() => TcpProcessGroup.Create(RankThreads.Settings(0, 2, port, "t", timeoutSeconds: 1)));
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Contains("already in use", e.Message);
    }

    [Fact]
    public void PeerClosedMidCollective_EveryOtherRankThrowsPromptlyNamingAPeer()
    {
        const double timeout = 10;
        var clock = Stopwatch.StartNew();
        var outcomes = RankThreads.RunEach(3, r => RankThreads.Settings(r, 3, 0, "", timeout), (rank, g) =>
        {
            var data = new float[4 << 20];
            if (rank == 1)
            {
                // Rank 1 starts the collective and dies in the middle of it (its sockets close, as when a process is killed).
                var dying = Task.Run(() => Record.Exception(() => g.AllReduce(data)));
                Thread.Sleep(30);
                g.Dispose();
                return dying.Result is null ? "finished" : "died";
            }
            for (int i = 0; i < 50; i++) g.AllReduce(data); // far longer than 30 ms if nobody failed
            return "finished";
        }, segmentBytes: 256 << 10);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0, timeout);
        foreach (int rank in new[] { 0, 2 })
        {
            var e = Assert.IsType<PeerException>(outcomes[rank].Error);
            Assert.Contains($"rank {rank}:", e.Message);
            Assert.Contains($"rank {e.PeerRank} (127.0.0.1:", e.Message);
            Assert.True(outcomes[rank].Elapsed.TotalSeconds < timeout / 2, $"rank {rank} took {outcomes[rank].Elapsed}: {e.Message}");
        }
        // Each rank reports the first failure it saw: rank 1 going away, or a neighbour that gave up because of it. Rank 0
        // can only blame rank 2 if rank 2 failed first and the other way round, so at least one of them names rank 1.
        Assert.Contains(new[] { 0, 2 }, rank => ((PeerException)outcomes[rank].Error!).PeerRank == 1);
    }

    [Fact]
    public void SilentPeer_EveryOtherRankThrowsWithinTheTimeout()
    {
        const double timeout = 1.5;
        var outcomes = RankThreads.RunEach(3, r => RankThreads.Settings(r, 3, 0, "", timeout), (rank, g) =>
        {
            if (rank == 1)
            {
                Thread.Sleep(TimeSpan.FromSeconds(timeout + 1)); // alive, connected, and answering nothing
                return 0;
            }
            var clock = Stopwatch.StartNew();
            try { g.AllReduce(new float[100_000]); }
            catch (PeerException e) { throw new PeerException(e.PeerRank, e.PeerAddress, $"{e.Message} [after {clock.Elapsed.TotalSeconds:0.00} s]", e); }
            return 1;
        });
        var fromRank2 = Assert.IsType<PeerException>(outcomes[2].Error, exactMatch: true);
        Assert.Equal(1, fromRank2.PeerRank);
        Assert.True(fromRank2.Message.Contains("did not answer within 1.5 s"), fromRank2.ToString());
        Assert.IsType<PeerException>(outcomes[0].Error);
        foreach (int rank in new[] { 0, 2 })
        {
            double seconds = double.Parse(outcomes[rank].Error!.Message.Split("[after ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(seconds, 0, timeout + 2);
        }
    }

    [Fact]
    public void DifferentLengthsOnTwoRanks_IsAClearError()
    {
        var outcomes = RankThreads.RunEach(2, r => RankThreads.Settings(r, 2, 0, "", 5), (rank, g) => { g.AllReduce(new float[rank == 0 ? 100 : 200]); return 0; });
        Assert.Contains(outcomes, o => o.Error is PeerException e && e.Message.Contains("different lengths"));
        Assert.All(outcomes, o => Assert.NotNull(o.Error));
    }

    [Fact]
    public void AGroupThatFailed_RefusesFurtherCollectives()
    {
        var outcomes = RankThreads.RunEach(2, r => RankThreads.Settings(r, 2, 0, "", 5), (rank, g) =>
        {
            Record.Exception(() => g.AllReduce(new float[rank == 0 ? 10 : 20]));
            return Record.Exception(() => g.Barrier());
        });
        Assert.All(outcomes, o => Assert.Contains("broken by an earlier failure", o.Value!.Message));
    }

    [Fact]
    public async Task RingHandshake_WrongToken_IsRefusedOnBothSides()
    {
        var (a, b) = SegmentFramingTests.Pair();
        using (a)
        using (b)
        {
            var judged = Task.Run(() => RingHandshake.Judge(b, localRank: 1, expectedRank: 0, worldSize: 2, token: "right"));
            var e = Assert.Throws<HandshakeRefusedException>(() => RingHandshake.Offer(a, 0, 2, "wrong"));
            Assert.Contains("job token does not match", e.Message);
            Assert.Contains("job token does not match", await judged);
        }
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TinyLlama.Distributed.Tests;

public sealed class StoreTests : IDisposable
{
    readonly StoreServer _server = StoreServer.Start(IPAddress.Loopback, 0, worldSize: 3, token: "tok");

    public void Dispose() => _server.Dispose();

    StoreClient Client(int rank, string token = "tok", int worldSize = 3) =>
        StoreClient.Connect("127.0.0.1", _server.Port, rank, worldSize, token, TimeSpan.FromSeconds(5));

    [Fact]
    public void SetGetAddAndWait()
    {
        using var a = Client(0);
        using var b = Client(1);
        a.Set("k", "value");
        Assert.Equal("value", b.GetString("k", TimeSpan.FromSeconds(1)));
        Assert.Equal(5, a.Add("n", 5));
        Assert.Equal(3, b.Add("n", -2));
        b.Wait(["k", "n"], TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Get_WaitsForAKeySetLater()
    {
        using var a = Client(0);
        using var b = Client(1);
        var waiting = Task.Run(() => a.GetString("late", TimeSpan.FromSeconds(5)));
        Thread.Sleep(100);
        Assert.False(waiting.IsCompleted);
        b.Set("late", "here");
        Assert.Equal("here", await waiting);
    }

    [Fact]
    public void Add_FromManyThreadsCountsEveryIncrement()
    {
        var clients = Enumerable.Range(0, 3).Select(r => Client(r)).ToArray();
        Parallel.ForEach(clients, c => { for (int i = 0; i < 50; i++) c.Add("count", 1); });
        Assert.Equal(150, clients[0].Add("count", 0));
        foreach (var c in clients) c.Dispose();
    }

    [Fact]
    public void Get_TimesOutNamingTheKeyAndTheMissingRanks()
    {
        using var a = Client(0);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<RendezvousException>(() => a.Get("never", TimeSpan.FromMilliseconds(300)));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.25, 3);
        Assert.Contains("'never'", e.Message);
        Assert.Contains("missing: 1, 2", e.Message);
    }

    [Fact]
    public void WrongToken_IsRefusedAndRemembered()
    {
        var e = Assert.Throws<HandshakeRefusedException>(() => Client(1, token: "other"));
        Assert.Contains("job token does not match", e.Message);
        Assert.Contains("different job token", _server.Describe());
    }

    [Fact]
    public void DuplicateRank_BreaksTheRendezvousForEveryone()
    {
        using var first = Client(1);
        var e = Assert.Throws<HandshakeRefusedException>(() => Client(1));
        Assert.Contains("rank 1 joined twice", e.Message);
        var waiter = Assert.Throws<RendezvousException>(() => first.Get("anything", TimeSpan.FromSeconds(5)));
        Assert.Contains("joined twice", waiter.Message);
    }

    [Fact]
    public void WrongWorldSize_IsRefused()
    {
        var e = Assert.Throws<HandshakeRefusedException>(() => Client(1, worldSize: 4));
        Assert.Contains("world size is 4, but rank 0 says 3", e.Message);
    }

    [Fact]
    public void OversizedValueHeader_IsAnsweredWithAnErrorAndTheStoreCarriesOn()
    {
        using (var raw = new TcpClient())
        {
            raw.Connect(IPAddress.Loopback, _server.Port);
            var stream = raw.GetStream();
            var header = new byte[StoreProtocol.HeaderSize];
            header[0] = (byte)StoreOp.Set;
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), 1 << 30); // claims a 1 GiB value
            stream.Write(header);
            var (status, payload, _) = StoreProtocol.ReadResponse(stream);
            Assert.Equal(StoreStatus.Error, status);
            Assert.Contains("1073741824 bytes is outside", Encoding.UTF8.GetString(payload));
        }
        using var ok = Client(0);
        ok.Set("still", "works");
    }

    [Fact]
    public void TruncatedRequest_DropsOnlyThatClient()
    {
        using (var raw = new TcpClient())
        {
            raw.Connect(IPAddress.Loopback, _server.Port);
            raw.GetStream().Write(new byte[5]); // five bytes of a sixteen-byte header, then gone
        }
        using var ok = Client(2);
        ok.Set("after", "truncation");
        Assert.Equal("truncation", ok.GetString("after", TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void PortInUse_IsARendezvousErrorNamingTheAddress()
    {
        var e = Assert.Throws<RendezvousException>(() => StoreServer.Start(IPAddress.Loopback, _server.Port, 2, "t"));
        Assert.Contains($"127.0.0.1:{_server.Port}", e.Message);
        Assert.Contains("already in use", e.Message);
    }

    [Fact]
    public void NoStore_ConnectGivesUpAtTheDeadlineNamingTheAddress()
    {
        int port = RankThreads.FreePort();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<RendezvousException>(() => StoreClient.Connect("127.0.0.1", port, 1, 2, "t", TimeSpan.FromMilliseconds(500)));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.4, 3);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Contains("rank 1", e.Message);
    }
}

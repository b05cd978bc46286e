using System.Net;
using System.Net.Sockets;

namespace TinyLlama.Distributed.Tests;

/// <summary>What a rank does with bytes a peer should not have sent: refuse them before reading a payload, naming the peer.</summary>
public sealed unsafe class SegmentFramingTests
{
    internal static (Socket A, Socket B) Pair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var a = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        a.Connect(listener.LocalEndPoint!);
        return (a, listener.Accept());
    }

    /// <summary>Rank 1 expects one 1024-byte segment from rank 0; <paramref name="peer"/> writes whatever rank 0 writes.</summary>
    static Exception? ReceiveOneSegment(Action<Socket> peer)
    {
        var (fromPeer, peerSide) = Pair();
        var (toSink, sinkSide) = Pair();
        using var sink = sinkSide;
        using var engine = new RingEngine(new PeerLink(toSink, 1, 2, TimeSpan.FromSeconds(5)), new PeerLink(fromPeer, 1, 0, TimeSpan.FromSeconds(5)), 1, TimeSpan.FromSeconds(5));
        var destination = new byte[1024];
        fixed (byte* p = destination)
        {
            engine.Begin(CollectiveKind.AllReduceRing);
            engine.AddReceive(p, destination.Length, ReceiveMode.Copy);
            using (peerSide) peer(peerSide);
            return Record.Exception(engine.Run);
        }
    }

    static byte[] Header(int length, CollectiveKind kind = CollectiveKind.AllReduceRing)
    {
        var bytes = new byte[SegmentHeader.Size];
        new SegmentHeader(kind, 1, 0, length).Write(bytes);
        return bytes;
    }

    [Fact]
    public void OversizedLength_IsRefusedBeforeAnyPayload()
    {
        var e = Assert.IsType<PeerException>(ReceiveOneSegment(s => s.Send(Header(1 << 30))));
        Assert.Equal(0, e.PeerRank);
        Assert.Contains("segment 0 of 1073741824 bytes, expected AllReduceRing #1 segment 0 of 1024 bytes", e.Message);
    }

    [Fact]
    public void TruncatedPayload_SaysHowMuchArrived()
    {
        var e = Assert.IsType<PeerException>(ReceiveOneSegment(s => { s.Send(Header(1024)); s.Send(new byte[100]); }));
        Assert.Contains("connection closed by rank 0 (127.0.0.1:", e.Message);
        Assert.Contains("after 100 of 1024 bytes", e.Message);
    }

    [Fact]
    public void TruncatedHeader_IsAClosedConnection()
    {
        var e = Assert.IsType<PeerException>(ReceiveOneSegment(s => s.Send(new byte[5])));
        Assert.Contains("after 5 of 16 bytes of the header", e.Message);
    }

    [Fact]
    public void OtherCollective_IsNamed()
    {
        var e = Assert.IsType<PeerException>(ReceiveOneSegment(s => s.Send(Header(1024, CollectiveKind.Broadcast))));
        Assert.Contains("different collectives", e.Message);
    }

    [Fact]
    public void Garbage_IsNotAHeader()
    {
        var e = Assert.IsType<PeerException>(ReceiveOneSegment(s => s.Send(new byte[64])));
        Assert.Contains("not a segment header", e.Message);
    }
}

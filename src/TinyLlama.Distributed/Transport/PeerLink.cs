using System.Net.Sockets;

namespace TinyLlama.Distributed;

/// <summary>
/// One TCP connection to a ring neighbour, with sends and receives that either move every byte asked for or throw a
/// <see cref="PeerException"/> naming this rank, the peer's rank and address, and what was being moved. Timeouts are
/// the socket's own send and receive timeouts, so a silent peer becomes an exception, never a hang.
/// </summary>
internal sealed unsafe class PeerLink : IDisposable
{
    readonly Socket _socket;
    int _closed;

    public PeerLink(Socket socket, int localRank, int peerRank, TimeSpan timeout)
    {
        _socket = socket;
        LocalRank = localRank;
        PeerRank = peerRank;
        PeerAddress = socket.RemoteEndPoint?.ToString() ?? "?";
        Timeout = timeout;
        Configure(socket, timeout);
    }

    public int LocalRank { get; }
    public int PeerRank { get; }
    public string PeerAddress { get; }
    public TimeSpan Timeout { get; }

    /// <summary>
    /// Segments go out as soon as they are written (no Nagle delay), and the kernel buffers are large enough that a
    /// small collective's sends complete without waiting for the peer to read, which the inline path relies on.
    /// </summary>
    public const int SocketBufferBytes = 4 << 20;

    internal static void Configure(Socket socket, TimeSpan timeout)
    {
        socket.NoDelay = true;
        socket.SendBufferSize = SocketBufferBytes;
        socket.ReceiveBufferSize = SocketBufferBytes;
        int ms = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
        socket.SendTimeout = ms;
        socket.ReceiveTimeout = ms;
    }

    public void Send(ReadOnlySpan<byte> data, in SegmentHeader about)
    {
        try
        {
            while (!data.IsEmpty)
            {
                int sent = _socket.Send(data, SocketFlags.None);
                data = data[sent..];
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw Failure(e, $"sending {Describe(about, false)}", 0, data.Length);
        }
    }

    public void Send(byte* data, int length, in SegmentHeader about) => Send(new ReadOnlySpan<byte>(data, length), about);

    /// <summary>Fills <paramref name="data"/> exactly; a peer that closes first is a truncated message, reported with how much arrived.</summary>
    public void Receive(Span<byte> data, in SegmentHeader about, bool isHeader)
    {
        int got = 0;
        try
        {
            while (got < data.Length)
            {
                int n = _socket.Receive(data[got..], SocketFlags.None);
                if (n == 0)
                    throw new PeerException(PeerRank, PeerAddress,
                        $"rank {LocalRank}: connection closed by rank {PeerRank} ({PeerAddress}) after {got} of {data.Length} bytes of {Describe(about, isHeader)}");
                got += n;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw Failure(e, $"receiving {Describe(about, isHeader)}", got, data.Length);
        }
    }

    public void Receive(byte* data, int length, in SegmentHeader about) => Receive(new Span<byte>(data, length), about, isHeader: false);

    // Built only when something failed, so the hot path formats no strings.
    static string Describe(in SegmentHeader about, bool isHeader) =>
        $"{(isHeader ? "the header of " : "")}{about.Kind} #{about.Sequence} segment {about.Index}";

    PeerException Failure(Exception e, string doing, int done, int total)
    {
        string detail = e switch
        {
            SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock } =>
                $"rank {PeerRank} ({PeerAddress}) did not answer within {Timeout.TotalSeconds:0.###} s",
            SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted } s =>
                $"connection to rank {PeerRank} ({PeerAddress}) was reset ({s.SocketErrorCode}): the peer died or gave up",
            SocketException s => $"socket error with rank {PeerRank} ({PeerAddress}): {s.SocketErrorCode} {s.Message}",
            _ => $"the connection to rank {PeerRank} ({PeerAddress}) was closed on this side after an earlier failure",
        };
        return new PeerException(PeerRank, PeerAddress, $"rank {LocalRank}: {doing} ({done} of {total} bytes): {detail}", e);
    }

    /// <summary>Closing is how a failing rank tells its neighbours: they see the connection end at once instead of waiting out a timeout.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
    }
}

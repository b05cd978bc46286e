using System.Net.Sockets;

namespace TinyLlama.Distributed;

/// <summary>
/// One TCP connection to a ring neighbour, non-blocking: a send or receive moves what the kernel takes or has now
/// and returns, so one thread can drive both neighbours at once (see <see cref="RingEngine"/>). Every failure is a
/// <see cref="PeerException"/> naming this rank, the peer's rank and address, and what was being moved.
/// </summary>
internal sealed class PeerLink : IDisposable
{
    int _closed;

    public PeerLink(Socket socket, int localRank, int peerRank, TimeSpan timeout)
    {
        Socket = socket;
        LocalRank = localRank;
        PeerRank = peerRank;
        PeerAddress = socket.RemoteEndPoint?.ToString() ?? "?";
        Timeout = timeout;
        // Segments go out as soon as they are written (no Nagle delay). Buffer sizes are left to the kernel's
        // autotuning, which on loopback grows them well past anything a fixed setting did better in measurements.
        socket.NoDelay = true;
        socket.Blocking = false;
    }

    public Socket Socket { get; }
    public int LocalRank { get; }
    public int PeerRank { get; }
    public string PeerAddress { get; }
    /// <summary>How long a collective may make no progress on this link before it fails.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Bytes the kernel took, 0 if its buffer is full.</summary>
    public int TrySend(ReadOnlySpan<byte> data, in SegmentHeader about, int done, int total)
    {
        if (Volatile.Read(ref _closed) != 0) throw Closed($"sending {Describe(about, false)}", done, total);
        int sent;
        SocketError error;
        try { sent = Socket.Send(data, SocketFlags.None, out error); }
        catch (ObjectDisposedException) { throw Closed($"sending {Describe(about, false)}", done, total); }
        if (error == SocketError.WouldBlock) return 0;
        if (error != SocketError.Success) throw Failure(error, $"sending {Describe(about, false)}", done, total);
        return sent;
    }

    /// <summary>Bytes that arrived, 0 if none yet; a peer that closed first is a truncated message, reported with how much arrived.</summary>
    public int TryReceive(Span<byte> data, in SegmentHeader about, bool isHeader, int done, int total)
    {
        if (Volatile.Read(ref _closed) != 0) throw Closed($"receiving {Describe(about, isHeader)}", done, total);
        int got;
        SocketError error;
        try { got = Socket.Receive(data, SocketFlags.None, out error); }
        catch (ObjectDisposedException) { throw Closed($"receiving {Describe(about, isHeader)}", done, total); }
        if (error == SocketError.WouldBlock) return 0;
        if (error != SocketError.Success) throw Failure(error, $"receiving {Describe(about, isHeader)}", done, total);
        if (got == 0 && !data.IsEmpty)
            throw new PeerException(PeerRank, PeerAddress,
                $"rank {LocalRank}: connection closed by rank {PeerRank} ({PeerAddress}) after {done} of {total} bytes of {Describe(about, isHeader)}");
        return got;
    }

    public PeerException Silent(string doing) =>
        new(PeerRank, PeerAddress, $"rank {LocalRank}: {doing}: rank {PeerRank} ({PeerAddress}) did not answer within {Timeout.TotalSeconds:0.###} s");

    PeerException Failure(SocketError error, string doing, int done, int total)
    {
        string detail = error is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted
            ? $"connection to rank {PeerRank} ({PeerAddress}) was reset ({error}): the peer died or gave up"
            : $"socket error with rank {PeerRank} ({PeerAddress}): {error}";
        return new PeerException(PeerRank, PeerAddress, $"rank {LocalRank}: {doing} ({done} of {total} bytes): {detail}");
    }

    PeerException Closed(string doing, int done, int total) =>
        new(PeerRank, PeerAddress, $"rank {LocalRank}: {doing} ({done} of {total} bytes): the connection to rank {PeerRank} ({PeerAddress}) was closed on this side after an earlier failure");

    // Built only when something failed, so the hot path formats no strings.
    internal static string Describe(in SegmentHeader about, bool isHeader) =>
        $"{(isHeader ? "the header of " : "")}{about.Kind} #{about.Sequence} segment {about.Index}";

    /// <summary>Closing is how a failing rank tells its neighbours: they see the connection end at once instead of waiting out a timeout.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try { Socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        Socket.Dispose();
    }
}

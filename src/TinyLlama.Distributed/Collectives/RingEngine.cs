using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;

namespace TinyLlama.Distributed;

internal enum ReceiveMode : byte
{
    /// <summary>The segment lands straight in its destination: no copy beyond the kernel's.</summary>
    Copy,
    AddF32,
    AddBf16,
}

/// <summary>Send <see cref="Length"/> bytes at <see cref="Data"/> once <see cref="AfterReceives"/> receives of this collective are done.</summary>
internal readonly record struct SendItem(nint Data, int Length, int AfterReceives);

/// <summary>Receive <see cref="Length"/> bytes into <see cref="Destination"/>, copying or adding; a non-zero divisor divides the sum.</summary>
internal readonly record struct ReceiveItem(nint Destination, int Length, ReceiveMode Mode, float Divisor);

/// <summary>
/// Runs one collective written as two ordered lists: segments this rank sends to the next rank, and segments it
/// receives from the previous one. A send may wait for a receive (a reduced segment is forwarded as soon as it is
/// reduced), which is all the ring algorithms need.
///
/// One thread drives both links with non-blocking sockets: it pushes whatever the next rank's socket will take,
/// pulls whatever the previous rank's socket holds, adds each segment in as soon as it is complete, and sleeps in
/// poll(2) on both sockets only when neither can move. The kernel keeps both transfers going while the thread adds,
/// so reduction overlaps the I/O with no thread hand-offs: a first version with a sender thread beside the receiving
/// thread lost most of its time to wake-ups on a two-core machine (docs/distributed.md).
///
/// The first failure — a peer closing, a socket error, no progress for the timeout — closes both links (that is how
/// the neighbours learn of it at once; they close theirs in turn) and leaves the engine broken: every later call throws.
/// </summary>
internal sealed unsafe class RingEngine : IDisposable
{
    readonly PeerLink _next;
    readonly PeerLink _previous;
    readonly int _rank;
    readonly TimeSpan _timeout;
    readonly List<Socket> _readable = new(1), _writable = new(1);
    byte[] _scratch = GC.AllocateArray<byte>(0, pinned: true);

    SendItem[] _sends = new SendItem[64];
    ReceiveItem[] _receives = new ReceiveItem[64];
    int _sendCount, _receiveCount;
    CollectiveKind _kind;
    uint _sequence;
    Exception? _failure; // the first failure; the engine is broken after it
    volatile bool _disposed;

    public RingEngine(PeerLink next, PeerLink previous, int rank, TimeSpan timeout)
    {
        _next = next;
        _previous = previous;
        _rank = rank;
        _timeout = timeout;
    }

    public void Begin(CollectiveKind kind)
    {
        ThrowIfBroken();
        _kind = kind;
        _sequence++;
        _sendCount = _receiveCount = 0;
    }

    public void AddSend(void* data, int length, int afterReceives)
    {
        if (_sendCount == _sends.Length) Array.Resize(ref _sends, _sends.Length * 2);
        _sends[_sendCount++] = new SendItem((nint)data, length, afterReceives);
    }

    public void AddReceive(void* destination, int length, ReceiveMode mode, float divisor = 0)
    {
        if (_receiveCount == _receives.Length) Array.Resize(ref _receives, _receives.Length * 2);
        _receives[_receiveCount++] = new ReceiveItem((nint)destination, length, mode, divisor);
        if (mode != ReceiveMode.Copy && length > _scratch.Length) _scratch = GC.AllocateArray<byte>(length, pinned: true);
    }

    public void Run()
    {
        ThrowIfBroken();
        try
        {
            Drive();
        }
        catch (Exception e)
        {
            Fail(e);
            ExceptionDispatchInfo.Capture(Volatile.Read(ref _failure)!).Throw();
        }
    }

    void Drive()
    {
        // Where each direction stands: the item, and how many of its header + payload bytes have moved.
        int send = 0, sent = 0, receive = 0, received = 0;
        byte* sendHeader = stackalloc byte[SegmentHeader.Size];
        byte* receiveHeader = stackalloc byte[SegmentHeader.Size];
        if (_sendCount > 0) Header(send).Write(new Span<byte>(sendHeader, SegmentHeader.Size));
        var lastProgress = Stopwatch.StartNew();
        fixed (byte* scratch = _scratch)
        {
            while (send < _sendCount || receive < _receiveCount)
            {
                bool moved = false;

                // Push to the next rank while its socket takes bytes and the segment is ready to go.
                while (send < _sendCount && _sends[send].AfterReceives <= receive)
                {
                    var item = _sends[send];
                    int total = SegmentHeader.Size + item.Length;
                    var bytes = sent < SegmentHeader.Size
                        ? new ReadOnlySpan<byte>(sendHeader + sent, SegmentHeader.Size - sent)
                        : new ReadOnlySpan<byte>((byte*)item.Data + (sent - SegmentHeader.Size), total - sent);
                    int n = bytes.IsEmpty ? 0 : _next.TrySend(bytes, Header(send), sent, total);
                    if (n == 0 && !bytes.IsEmpty) break;
                    moved = true;
                    sent += n;
                    if (sent == total)
                    {
                        send++;
                        sent = 0;
                        if (send < _sendCount) Header(send).Write(new Span<byte>(sendHeader, SegmentHeader.Size));
                    }
                }

                // Pull from the previous rank: the header into a small buffer, the payload straight to its place.
                while (receive < _receiveCount)
                {
                    var item = _receives[receive];
                    int total = SegmentHeader.Size + item.Length;
                    int n;
                    if (received < SegmentHeader.Size)
                    {
                        n = _previous.TryReceive(new Span<byte>(receiveHeader + received, SegmentHeader.Size - received), Header(receive), true, received, SegmentHeader.Size);
                        if (n == 0) break;
                        received += n;
                        if (received == SegmentHeader.Size)
                            SegmentHeader.Check(new ReadOnlySpan<byte>(receiveHeader, SegmentHeader.Size), new SegmentHeader(_kind, _sequence, receive, item.Length), _previous);
                    }
                    else
                    {
                        byte* target = item.Mode == ReceiveMode.Copy ? (byte*)item.Destination : scratch;
                        int offset = received - SegmentHeader.Size;
                        n = _previous.TryReceive(new Span<byte>(target + offset, item.Length - offset), Header(receive), false, offset, item.Length);
                        if (n == 0) break;
                        received += n;
                    }
                    moved = true;
                    if (received == total)
                    {
                        Reduce(item, scratch);
                        receive++;
                        received = 0;
                    }
                }

                if (moved)
                {
                    lastProgress.Restart();
                    continue;
                }
                WaitForEither(send < _sendCount && _sends[send].AfterReceives <= receive, receive < _receiveCount, lastProgress, send, receive);
            }
        }
    }

    SegmentHeader Header(int index) =>
        new(_kind, _sequence, index, index < _sendCount ? _sends[index].Length : 0);

    static void Reduce(in ReceiveItem item, byte* scratch)
    {
        if (item.Mode == ReceiveMode.AddF32)
            Reductions.AddF32(new Span<float>((void*)item.Destination, item.Length / 4), new ReadOnlySpan<float>(scratch, item.Length / 4), item.Divisor);
        else if (item.Mode == ReceiveMode.AddBf16)
            Reductions.AddBf16(new Span<ushort>((void*)item.Destination, item.Length / 2), new ReadOnlySpan<ushort>(scratch, item.Length / 2), item.Divisor);
    }

    /// <summary>Sleeps in poll(2) until a socket can move; throws naming the peer once nothing has moved for the timeout.</summary>
    void WaitForEither(bool wantWrite, bool wantRead, Stopwatch lastProgress, int send, int receive)
    {
        var left = _timeout - lastProgress.Elapsed;
        if (left <= TimeSpan.Zero)
        {
            // Waiting to receive means the previous rank is silent; otherwise the next rank stopped reading.
            if (wantRead) throw _previous.Silent($"receiving {PeerLink.Describe(new SegmentHeader(_kind, _sequence, receive, _receives[receive].Length), false)}");
            throw _next.Silent($"sending {PeerLink.Describe(Header(send), false)}");
        }
        _readable.Clear();
        _writable.Clear();
        if (wantRead) _readable.Add(_previous.Socket);
        if (wantWrite) _writable.Add(_next.Socket);
        if (_readable.Count == 0 && _writable.Count == 0) return; // cannot happen: a pending send always waits on a receive
        int microseconds = (int)Math.Min(left.TotalMicroseconds, 100_000); // wake now and then to check the deadline
        try
        {
            Socket.Select(_readable.Count > 0 ? _readable : null, _writable.Count > 0 ? _writable : null, null, Math.Max(1, microseconds));
        }
        catch (ObjectDisposedException)
        {
            // Closed by Dispose or by a failure on another thread: the next send or receive reports it.
        }
        catch (SocketException)
        {
            // Likewise: the socket's own error surfaces, with the peer's name, on the next send or receive.
        }
    }

    /// <summary>Records the first failure and closes both links, so the neighbours see the connection end at once.</summary>
    public void Fail(Exception e)
    {
        Interlocked.CompareExchange(ref _failure, e, null);
        _next.Dispose();
        _previous.Dispose();
    }

    void ThrowIfBroken()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(TcpProcessGroup), $"rank {_rank}: the process group is disposed");
        var failure = Volatile.Read(ref _failure);
        if (failure is not null)
            throw new DistributedException($"rank {_rank}: this process group was broken by an earlier failure and cannot be used again: {failure.Message}", failure);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Fail(new ObjectDisposedException(nameof(TcpProcessGroup), $"rank {_rank}: the process group was disposed during a collective"));
    }
}

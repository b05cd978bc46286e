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
/// Large collectives use two threads at once: a long-lived sender thread streams segments to the next rank while the
/// calling thread receives from the previous rank and reduces each segment as it lands, so the link is busy in both
/// directions and the additions overlap the transfers. Collectives whose segments are all small run on the calling
/// thread alone, interleaving sends and receives: the kernel's socket buffers absorb the sends, and a thread hand-off
/// would cost more than the whole transfer.
///
/// The first failure anywhere closes both links — that is how the neighbours learn of it at once, and they close
/// theirs in turn — and leaves the engine broken: every later call throws.
/// </summary>
internal sealed unsafe class RingEngine : IDisposable
{
    /// <summary>Collectives whose every segment is at most this size run on the calling thread (see the class comment).</summary>
    public const int InlineSegmentBytes = 64 << 10;

    /// <summary>
    /// On the inline path a rank may have all its sends of a collective unread by a slow successor, and a send that
    /// does not fit the socket buffer would block with no receiver running. Linux grants at least 2 × 208 KiB of send
    /// buffer by default, so inline collectives send at most this much in all.
    /// </summary>
    public const int InlineTotalSendBytes = 256 << 10;

    readonly PeerLink _next;
    readonly PeerLink _previous;
    readonly int _rank;
    readonly TimeSpan _timeout;
    readonly Thread _sender;
    readonly SemaphoreSlim _start = new(0);
    readonly SemaphoreSlim _finished = new(0);
    readonly object _gate = new();
    readonly byte[] _staging = GC.AllocateArray<byte>(SegmentHeader.Size + InlineSegmentBytes, pinned: true);
    byte[] _scratch = GC.AllocateArray<byte>(0, pinned: true);

    SendItem[] _sends = new SendItem[64];
    ReceiveItem[] _receives = new ReceiveItem[64];
    int _sendCount, _receiveCount;
    CollectiveKind _kind;
    uint _sequence;
    int _received;       // receives of the current collective completed; the sender waits on it
    int _senderWaiting;
    Exception? _failure; // the first failure; the engine is broken after it
    volatile bool _disposed;

    public RingEngine(PeerLink next, PeerLink previous, int rank, TimeSpan timeout)
    {
        _next = next;
        _previous = previous;
        _rank = rank;
        _timeout = timeout;
        _sender = new Thread(SenderLoop) { IsBackground = true, Name = $"ring sender (rank {rank})" };
        _sender.Start();
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
        int largest = 0;
        long sent = 0;
        for (int i = 0; i < _sendCount; i++)
        {
            largest = Math.Max(largest, _sends[i].Length);
            sent += _sends[i].Length + SegmentHeader.Size;
        }
        for (int i = 0; i < _receiveCount; i++) largest = Math.Max(largest, _receives[i].Length);
        if (largest <= InlineSegmentBytes && sent <= InlineTotalSendBytes) RunInline();
        else RunThreaded();
    }

    void RunInline()
    {
        try
        {
            int s = 0;
            for (int r = 0; r < _receiveCount; r++)
            {
                while (s < _sendCount && _sends[s].AfterReceives <= r) SendOne(s++);
                ReceiveOne(r);
            }
            while (s < _sendCount) SendOne(s++);
        }
        catch (Exception e)
        {
            Fail(e);
            ThrowFailure();
        }
    }

    void RunThreaded()
    {
        Volatile.Write(ref _received, 0);
        _start.Release();
        try
        {
            for (int r = 0; r < _receiveCount; r++)
            {
                ReceiveOne(r);
                Interlocked.Increment(ref _received);
                if (Volatile.Read(ref _senderWaiting) != 0)
                    lock (_gate) Monitor.PulseAll(_gate);
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
        // Every send has its own socket timeout, so the sender finishes or fails within one; the extra wait is a backstop.
        if (!_finished.Wait(_timeout + _timeout + TimeSpan.FromSeconds(5)))
            Fail(new DistributedException($"rank {_rank}: the ring sender did not finish {_kind} #{_sequence} within the timeout"));
        if (Volatile.Read(ref _failure) is not null) ThrowFailure();
    }

    void SenderLoop()
    {
        while (true)
        {
            _start.Wait();
            if (_disposed) return;
            try
            {
                for (int i = 0; i < _sendCount; i++)
                {
                    WaitForReceives(_sends[i].AfterReceives);
                    SendOne(i);
                }
            }
            catch (Exception e)
            {
                Fail(e);
            }
            _finished.Release();
        }
    }

    void WaitForReceives(int count)
    {
        if (Volatile.Read(ref _received) >= count) return;
        var spin = new SpinWait();
        while (!spin.NextSpinWillYield)
        {
            spin.SpinOnce();
            if (Volatile.Read(ref _received) >= count) return;
        }
        lock (_gate)
        {
            // A full fence between announcing the wait and re-reading the count, matching the receiver's
            // increment-then-read: one of the two always sees the other, so no wake-up is lost.
            Interlocked.Exchange(ref _senderWaiting, 1);
            while (Volatile.Read(ref _received) < count)
            {
                if (Volatile.Read(ref _failure) is not null) throw new OperationCanceledException("the collective failed");
                Monitor.Wait(_gate, 100);
            }
            Interlocked.Exchange(ref _senderWaiting, 0);
        }
    }

    void SendOne(int index)
    {
        var item = _sends[index];
        var header = new SegmentHeader(_kind, _sequence, index, item.Length);
        if (item.Length <= InlineSegmentBytes)
        {
            // One write for header and payload: one packet for a small segment instead of two.
            fixed (byte* staging = _staging)
            {
                header.Write(_staging);
                Buffer.MemoryCopy((void*)item.Data, staging + SegmentHeader.Size, InlineSegmentBytes, item.Length);
                _next.Send(staging, SegmentHeader.Size + item.Length, header);
            }
        }
        else
        {
            Span<byte> bytes = stackalloc byte[SegmentHeader.Size];
            header.Write(bytes);
            _next.Send(bytes, header);
            _next.Send((byte*)item.Data, item.Length, header);
        }
    }

    void ReceiveOne(int index)
    {
        var item = _receives[index];
        var expected = new SegmentHeader(_kind, _sequence, index, item.Length);
        Span<byte> header = stackalloc byte[SegmentHeader.Size];
        _previous.Receive(header, expected, isHeader: true);
        SegmentHeader.Check(header, expected, _previous);
        if (item.Mode == ReceiveMode.Copy)
        {
            _previous.Receive((byte*)item.Destination, item.Length, expected);
            return;
        }
        fixed (byte* scratch = _scratch)
        {
            _previous.Receive(scratch, item.Length, expected);
            if (item.Mode == ReceiveMode.AddF32)
                Reductions.AddF32(new Span<float>((void*)item.Destination, item.Length / 4), new ReadOnlySpan<float>(scratch, item.Length / 4), item.Divisor);
            else
                Reductions.AddBf16(new Span<ushort>((void*)item.Destination, item.Length / 2), new ReadOnlySpan<ushort>(scratch, item.Length / 2), item.Divisor);
        }
    }

    /// <summary>Records the first failure and closes both links, so a thread blocked on either wakes up and the neighbours see the connection end.</summary>
    public void Fail(Exception e)
    {
        Interlocked.CompareExchange(ref _failure, e, null);
        _next.Dispose();
        _previous.Dispose();
        lock (_gate) Monitor.PulseAll(_gate);
    }

    void ThrowFailure() => ExceptionDispatchInfo.Capture(Volatile.Read(ref _failure)!).Throw();

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
        _start.Release();
        _sender.Join(TimeSpan.FromSeconds(5));
    }
}

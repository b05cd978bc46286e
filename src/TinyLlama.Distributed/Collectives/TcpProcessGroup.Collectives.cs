using System.Runtime.InteropServices;

namespace TinyLlama.Distributed;

/// <summary>
/// The collectives as ring schedules. Rank r sends to r+1 and receives from r−1. For an all-reduce the buffer is
/// cut into N chunks; at step s rank r sends chunk (r−s) and receives chunk (r−s−1):
/// <code>
///   reduce-scatter, steps 0..N−2: the received chunk is added to this rank's copy,
///                                 so after N−1 steps rank r holds the full sum of chunk r+1;
///   all-gather,     steps N−1..2N−3: the received chunk is copied in: the sums travel once around.
///
///   N = 3, chunks a b c          step 0          step 1            step 2..3
///   rank 0  [a0 b0 c0]  sends a0 → 1     sends c0+c2 → 1   all-gather: each sends what it holds complete
///   rank 1  [a1 b1 c1]  sends b1 → 2     sends a0+a1 → 2
///   rank 2  [a2 b2 c2]  sends c2 → 0     sends b1+b2 → 0   → rank 0 holds b, rank 1 holds c, rank 2 holds a
/// </code>
/// Every chunk is cut into the same number of segments, and a segment is forwarded at step s as soon as its
/// step s−1 receive has been reduced — the sends wait on receives segment by segment, never on a whole step.
/// </summary>
public sealed unsafe partial class TcpProcessGroup
{
    public void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum)
    {
        if (_engine is null)
        {
            return; // one rank: the sum is the data, and so is the average
        }
        fixed (float* p = data) AllReduce((byte*)p, data.Length, sizeof(float), ReceiveMode.AddF32, op);
    }

    public void AllReduceBf16(Span<ushort> data, ReduceOp op = ReduceOp.Sum)
    {
        if (_engine is null) return;
        fixed (ushort* p = data) AllReduce((byte*)p, data.Length, sizeof(ushort), ReceiveMode.AddBf16, op);
    }

    void AllReduce(byte* data, int count, int elementBytes, ReceiveMode add, ReduceOp op)
    {
        if (count == 0) return; // every rank has the same length, so every rank skips alike
        lock (_callLock)
        {
            long bytes = (long)count * elementBytes;
            if (bytes <= SmallAllReduceBytes) GatherAndAdd(data, count, elementBytes, add, op);
            else RingAllReduce(data, count, elementBytes, add, op);
        }
    }

    void RingAllReduce(byte* data, int count, int elementBytes, ReceiveMode add, ReduceOp op)
    {
        int n = WorldSize, r = Rank;
        long largestChunk = ((long)count + n - 1) / n * elementBytes;
        int segments = (int)Math.Max(1, (largestChunk + SegmentBytes - 1) / SegmentBytes);
        float divisor = op == ReduceOp.Average ? n : 0;
        var engine = _engine!;
        engine.Begin(CollectiveKind.AllReduceRing);
        for (int step = 0; step < 2 * (n - 1); step++)
        {
            int sendChunk = Mod(r - step, n), receiveChunk = Mod(r - step - 1, n);
            for (int k = 0; k < segments; k++)
            {
                var (offset, length) = Segment(count, n, sendChunk, segments, k);
                engine.AddSend(data + offset * elementBytes, (int)(length * elementBytes), step == 0 ? 0 : (step - 1) * segments + k + 1);
            }
            bool reducing = step < n - 1;
            for (int k = 0; k < segments; k++)
            {
                var (offset, length) = Segment(count, n, receiveChunk, segments, k);
                engine.AddReceive(data + offset * elementBytes, (int)(length * elementBytes), reducing ? add : ReceiveMode.Copy,
                    reducing && step == n - 2 ? divisor : 0);
            }
        }
        engine.Run();
    }

    /// <summary>Elements [offset, offset+length) of segment k of chunk c: chunks and segments differ in size by at most one element.</summary>
    static (long Offset, long Length) Segment(int count, int ranks, int chunk, int segments, int k)
    {
        long chunkStart = (long)count * chunk / ranks, chunkLength = (long)count * (chunk + 1) / ranks - chunkStart;
        long start = chunkLength * k / segments, end = chunkLength * (k + 1) / segments;
        return (chunkStart + start, end - start);
    }

    /// <summary>
    /// The small-message path: all-gather the whole buffers (N−1 ring steps, one segment each) and add them up in
    /// rank order, which every rank does identically. Half the latency-bound steps of the ring all-reduce.
    /// </summary>
    void GatherAndAdd(byte* data, int count, int elementBytes, ReceiveMode add, ReduceOp op)
    {
        int n = WorldSize, bytes = count * elementBytes;
        if (_gather.Length < n * bytes) _gather = GC.AllocateArray<byte>(n * bytes, pinned: true);
        fixed (byte* gather = _gather)
        {
            new ReadOnlySpan<byte>(data, bytes).CopyTo(new Span<byte>(gather + (long)Rank * bytes, bytes));
            RingAllGather(CollectiveKind.AllReduceGather, gather, bytes);
            float divisor = op == ReduceOp.Average ? n : 0;
            if (add == ReceiveMode.AddF32)
            {
                Reductions.SumRanksF32(new ReadOnlySpan<float>(gather, n * count), n, new Span<float>(data, count), divisor);
            }
            else
            {
                if (_accumulator.Length < count) _accumulator = new float[count];
                Reductions.SumRanksBf16(new ReadOnlySpan<ushort>(gather, n * count), n, new Span<ushort>(data, count), _accumulator, divisor);
            }
        }
    }

    /// <summary>Block r (of <paramref name="blockBytes"/> at buffer + r·blockBytes) is this rank's; afterwards every block is filled.</summary>
    void RingAllGather(CollectiveKind kind, byte* buffer, int blockBytes)
    {
        int n = WorldSize, r = Rank;
        int segments = Math.Max(1, (blockBytes + SegmentBytes - 1) / SegmentBytes);
        var engine = _engine!;
        engine.Begin(kind);
        for (int step = 0; step < n - 1; step++)
        {
            int sendBlock = Mod(r - step, n), receiveBlock = Mod(r - step - 1, n);
            for (int k = 0; k < segments; k++)
            {
                int start = (int)((long)blockBytes * k / segments), end = (int)((long)blockBytes * (k + 1) / segments);
                engine.AddSend(buffer + (long)sendBlock * blockBytes + start, end - start, step == 0 ? 0 : (step - 1) * segments + k + 1);
            }
            for (int k = 0; k < segments; k++)
            {
                int start = (int)((long)blockBytes * k / segments), end = (int)((long)blockBytes * (k + 1) / segments);
                engine.AddReceive(buffer + (long)receiveBlock * blockBytes + start, end - start, ReceiveMode.Copy);
            }
        }
        engine.Run();
    }

    public void Broadcast(Span<byte> data, int root = 0)
    {
        if ((uint)root >= (uint)WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"broadcast root must be in 0..{WorldSize - 1}");
        if (_engine is null || data.IsEmpty) return;
        lock (_callLock)
        {
            // Down the ring from the root, pipelined: each rank forwards a segment as soon as it has it.
            int position = Mod(Rank - root, WorldSize);
            int segments = Math.Max(1, (data.Length + SegmentBytes - 1) / SegmentBytes);
            fixed (byte* p = data)
            {
                _engine.Begin(CollectiveKind.Broadcast);
                for (int k = 0; k < segments; k++)
                {
                    int start = (int)((long)data.Length * k / segments), end = (int)((long)data.Length * (k + 1) / segments);
                    if (position != 0) _engine.AddReceive(p + start, end - start, ReceiveMode.Copy);
                    if (position != WorldSize - 1) _engine.AddSend(p + start, end - start, position == 0 ? 0 : k + 1);
                }
                _engine.Run();
            }
        }
    }

    /// <summary>An all-gather of one byte: a rank can only finish it after every rank has sent its byte, that is, entered.</summary>
    public void Barrier()
    {
        if (_engine is null) return;
        lock (_callLock)
        {
            byte* tokens = stackalloc byte[WorldSize];
            tokens[Rank] = 1;
            RingAllGather(CollectiveKind.Barrier, tokens, 1);
        }
    }

    public void AllGather(ReadOnlySpan<byte> mine, Span<byte> output)
    {
        if (output.Length != (long)mine.Length * WorldSize)
            throw new ArgumentException($"all-gather output holds {output.Length} bytes; expected world size {WorldSize} × {mine.Length}", nameof(output));
        mine.CopyTo(output.Slice(Rank * mine.Length, mine.Length));
        if (_engine is null || mine.IsEmpty) return;
        lock (_callLock)
        {
            fixed (byte* p = output) RingAllGather(CollectiveKind.AllGather, p, mine.Length);
        }
    }

    static int Mod(int value, int n) => ((value % n) + n) % n;
}

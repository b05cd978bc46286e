namespace TinyLlama.Distributed.Tests.DataParallel;

/// <summary>A process group that passes every call on and counts the all-reduces (issued and completed).</summary>
internal sealed class CountingGroup(IProcessGroup inner) : IProcessGroup
{
    private int _started, _completed;

    public int Started => Volatile.Read(ref _started);
    public int Completed => Volatile.Read(ref _completed);
    public List<int> Lengths { get; } = [];

    public int Rank => inner.Rank;
    public int WorldSize => inner.WorldSize;

    public void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum)
    {
        lock (Lengths) Lengths.Add(data.Length);
        Interlocked.Increment(ref _started);
        inner.AllReduce(data, op);
        Interlocked.Increment(ref _completed);
    }

    public void AllReduceBf16(Span<ushort> data, ReduceOp op = ReduceOp.Sum) => inner.AllReduceBf16(data, op);
    public void Broadcast(Span<byte> data, int root = 0) => inner.Broadcast(data, root);
    public void Barrier() => inner.Barrier();
    public void AllGather(ReadOnlySpan<byte> mine, Span<byte> output) => inner.AllGather(mine, output);
    public void Dispose() => inner.Dispose();
}

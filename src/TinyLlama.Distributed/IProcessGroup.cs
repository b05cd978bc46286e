namespace TinyLlama.Distributed;

/// <summary>How an all-reduce combines the ranks' values.</summary>
public enum ReduceOp
{
    Sum,
    /// <summary>The sum divided by the world size: what data-parallel gradients need.</summary>
    Average,
}

/// <summary>
/// The collectives data-parallel training needs, over the ranks 0..WorldSize−1 of one job. Every rank calls the
/// same collectives in the same order with buffers of the same length; a call returns when this rank's part is
/// done. A peer that dies or stops answering is an exception naming the peer, never a hang.
/// bf16 buffers hold bfloat16 bit patterns (ushort) and are reduced in f32.
/// </summary>
public interface IProcessGroup : IDisposable
{
    int Rank { get; }
    int WorldSize { get; }

    void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum);
    void AllReduceBf16(Span<ushort> data, ReduceOp op = ReduceOp.Sum);

    /// <summary>After the call every rank holds the root's bytes.</summary>
    void Broadcast(Span<byte> data, int root = 0);

    /// <summary>Returns when every rank has entered the barrier.</summary>
    void Barrier();

    /// <summary>Rank r's <paramref name="mine"/> lands at output[r·mine.Length ..]; output holds WorldSize·mine.Length bytes.</summary>
    void AllGather(ReadOnlySpan<byte> mine, Span<byte> output);
}

using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using TinyLlama.Kernels;

namespace TinyLlama.Distributed.Local;

/// <summary>
/// An <see cref="IProcessGroup"/> whose ranks are threads of one process, exchanging through shared memory: for
/// tests of data-parallel training without sockets. Reductions add the ranks' values in rank order (0, 1, …) on
/// every rank, so every rank gets bit-identical results; Average divides that sum by the world size. bf16 values
/// are widened to f32, reduced in f32 and rounded back to nearest-even. Every rank computes the whole reduction
/// itself, which is simple and deterministic, not fast: this is not a transport for speed.
/// </summary>
public sealed class ThreadProcessGroup : IProcessGroup
{
    private readonly Rendezvous _shared;
    private float[] _accumulator = [];
    private float[] _widened = [];

    private ThreadProcessGroup(Rendezvous shared, int rank)
    {
        _shared = shared;
        Rank = rank;
    }

    public int Rank { get; }
    public int WorldSize => _shared.WorldSize;

    /// <summary>One group object per rank, all joined; hand group[r] to the thread that plays rank r.</summary>
    public static ThreadProcessGroup[] Create(int worldSize, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        // A bounded wait is the point: a rank that never comes is an error naming it, not a hung test run.
        var wait = timeout ?? TimeSpan.FromMinutes(2);
        if (wait <= TimeSpan.Zero || wait > TimeSpan.FromDays(1))
            throw new ArgumentOutOfRangeException(nameof(timeout), wait, "the collective timeout must be positive and at most a day");
        var shared = new Rendezvous(worldSize, wait);
        return Enumerable.Range(0, worldSize).Select(r => new ThreadProcessGroup(shared, r)).ToArray();
    }

    /// <summary>
    /// Runs <paramref name="body"/> once per rank, each on its own thread, and returns the results in rank order.
    /// A rank that throws leaves the group, so the others fail instead of waiting for it; all failures are thrown
    /// together, each message prefixed with its rank.
    /// </summary>
    public static T[] Run<T>(int worldSize, Func<IProcessGroup, T> body, TimeSpan? timeout = null)
    {
        var groups = Create(worldSize, timeout);
        var results = new T[worldSize];
        var errors = new Exception?[worldSize];
        var threads = groups.Select(group => new Thread(() =>
        {
            try { results[group.Rank] = body(group); }
            catch (Exception e) { errors[group.Rank] = e; }
            finally { group.Dispose(); }
        }) { IsBackground = true, Name = $"rank {group.Rank}" }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        var failed = errors.Select((e, r) => (e, r)).Where(x => x.e is not null).ToList();
        if (failed.Count > 0)
            throw new AggregateException(string.Join("; ", failed.Select(x => $"rank {x.r}: {x.e!.Message}")), failed.Select(x => x.e!));
        return results;
    }

    public void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum)
    {
        int n = data.Length;
        Stage(new CollectiveCall("all-reduce f32", n, op, -1), MemoryMarshal.AsBytes(data));
        var sum = EnsureLength(ref _accumulator, n);
        SumInRankOrder(sum, n, (r, dest) => StagedFloats(r, n).CopyTo(dest));
        if (op == ReduceOp.Average) TensorPrimitives.Divide(sum, WorldSize, sum);
        sum.CopyTo(data);
        _shared.Arrive(Rank, "all-reduce (read)");
    }

    public void AllReduceBf16(Span<ushort> data, ReduceOp op = ReduceOp.Sum)
    {
        int n = data.Length;
        Stage(new CollectiveCall("all-reduce bf16", n, op, -1), MemoryMarshal.AsBytes(data));
        var sum = EnsureLength(ref _accumulator, n);
        SumInRankOrder(sum, n, (r, dest) => BFloat16.ToFloat(MemoryMarshal.Cast<byte, ushort>(_shared.Staging[r].AsSpan(0, 2 * n)), dest));
        if (op == ReduceOp.Average) TensorPrimitives.Divide(sum, WorldSize, sum);
        BFloat16.FromFloat(sum, data);
        _shared.Arrive(Rank, "all-reduce bf16 (read)");
    }

    public void Broadcast(Span<byte> data, int root = 0)
    {
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be a rank in [0, {WorldSize})");
        Stage(new CollectiveCall("broadcast", data.Length, ReduceOp.Sum, root), Rank == root ? data : []);
        if (Rank != root) _shared.Staging[root].AsSpan(0, data.Length).CopyTo(data);
        _shared.Arrive(Rank, "broadcast (read)");
    }

    public void Barrier()
    {
        Stage(new CollectiveCall("barrier", 0, ReduceOp.Sum, -1), []);
        _shared.Arrive(Rank, "barrier (read)");
    }

    public void AllGather(ReadOnlySpan<byte> mine, Span<byte> output)
    {
        if (output.Length != (long)mine.Length * WorldSize)
            throw new ArgumentException($"all-gather: the output holds {output.Length} bytes; expected world size {WorldSize} × {mine.Length}", nameof(output));
        Stage(new CollectiveCall("all-gather", mine.Length, ReduceOp.Sum, -1), mine);
        for (int r = 0; r < WorldSize; r++)
            _shared.Staging[r].AsSpan(0, mine.Length).CopyTo(output.Slice(r * mine.Length, mine.Length));
        _shared.Arrive(Rank, "all-gather (read)");
    }

    public void Dispose() => _shared.Leave(Rank);

    /// <summary>Copies this rank's input into its staging buffer, waits for every rank, and checks they called the same collective.</summary>
    private void Stage(CollectiveCall call, ReadOnlySpan<byte> input)
    {
        input.CopyTo(_shared.StagingFor(Rank, input.Length));
        _shared.Calls[Rank] = call;
        _shared.Arrive(Rank, call.ToString());
        for (int r = 1; r < WorldSize; r++)
            if (_shared.Calls[r] != _shared.Calls[0])
            {
                string message = $"ranks called different collectives: rank 0 a {_shared.Calls[0]}, rank {r} a {_shared.Calls[r]}";
                _shared.Mismatch(message);
                throw new InvalidOperationException(message);
            }
    }

    private Span<float> StagedFloats(int rank, int length) => MemoryMarshal.Cast<byte, float>(_shared.Staging[rank].AsSpan(0, 4 * length));

    private delegate void Widen(int rank, Span<float> destination);

    /// <summary>sum = x₀ + x₁ + … + x_{N−1}, added in that order for every element.</summary>
    private void SumInRankOrder(Span<float> sum, int length, Widen widen)
    {
        widen(0, sum);
        var next = EnsureLength(ref _widened, length);
        for (int r = 1; r < WorldSize; r++)
        {
            widen(r, next);
            TensorPrimitives.Add(sum, next, sum);
        }
    }

    private static Span<float> EnsureLength(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }
}

namespace TinyLlama.Distributed.Local;

/// <summary>What a rank asked for in a collective; every rank of one collective must ask for the same.</summary>
internal readonly record struct CollectiveCall(string Kind, int Length, ReduceOp Op, int Root)
{
    public override string ToString() => Kind switch
    {
        "broadcast" => $"broadcast of {Length} bytes from rank {Root}",
        "barrier" => "barrier",
        "all-gather" => $"all-gather of {Length} bytes",
        _ => $"{Kind} ({Op}) of {Length} elements",
    };
}

/// <summary>
/// The shared state of a <see cref="ThreadProcessGroup"/>: one staging buffer per rank and a generation barrier.
/// A collective is stage → barrier → every rank reads every staging buffer → barrier, so a buffer is never
/// overwritten while another rank still reads it. A rank that leaves (its group disposed, e.g. after an exception)
/// or a barrier that waits past the timeout breaks the group: every waiting and later call throws, naming the
/// rank, as the contract asks of a real transport ("never a hang").
/// </summary>
internal sealed class Rendezvous(int worldSize, TimeSpan timeout)
{
    private readonly object _lock = new();
    private readonly bool[] _present = new bool[worldSize];
    private readonly bool[] _left = new bool[worldSize];
    // Ranks in the order they left: the first is the cause, later ones usually left because of it.
    private readonly List<int> _leftOrder = [];
    private int _arrived;
    private long _generation;
    private Exception? _broken;

    public int WorldSize { get; } = worldSize;
    public TimeSpan Timeout { get; } = timeout;
    public byte[][] Staging { get; } = Enumerable.Range(0, worldSize).Select(_ => Array.Empty<byte>()).ToArray();
    public CollectiveCall[] Calls { get; } = new CollectiveCall[worldSize];

    /// <summary>Rank <paramref name="rank"/>'s staging buffer, at least <paramref name="bytes"/> long.</summary>
    public byte[] StagingFor(int rank, int bytes)
    {
        if (Staging[rank].Length < bytes) Staging[rank] = new byte[bytes];
        return Staging[rank];
    }

    /// <summary>Returns when every rank has arrived; throws if the group is broken or the wait times out.</summary>
    public void Arrive(int rank, string what)
    {
        lock (_lock)
        {
            ThrowIfBroken(rank);
            long generation = _generation;
            _present[rank] = true;
            if (++_arrived == WorldSize)
            {
                _arrived = 0;
                Array.Clear(_present);
                _generation++;
                Monitor.PulseAll(_lock);
                return;
            }
            var deadline = DateTime.UtcNow + Timeout;
            while (_generation == generation)
            {
                ThrowIfBroken(rank);
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    var missing = Enumerable.Range(0, WorldSize).Where(r => !_present[r]);
                    Break(new TimeoutException($"{what}: rank(s) {string.Join(", ", missing)} did not arrive within {Timeout.TotalSeconds:0.#} s"));
                    ThrowIfBroken(rank);
                }
                Monitor.Wait(_lock, left);
            }
        }
    }

    /// <summary>Marks the ranks' calls as mismatched (a bug in the caller): every rank sees the same calls, so all throw.</summary>
    public void Mismatch(string message) => Break(new InvalidOperationException(message));

    /// <summary>Rank <paramref name="rank"/> leaves; ranks waiting for it, or calling later, get an exception naming it.</summary>
    public void Leave(int rank)
    {
        lock (_lock)
        {
            if (_left[rank]) return;
            _left[rank] = true;
            _leftOrder.Add(rank);
            if (_arrived > 0 && !_present[rank])
                Break(new IOException($"rank {rank} left the group while other ranks waited for it in a collective"));
            Monitor.PulseAll(_lock);
        }
    }

    private void Break(Exception e)
    {
        lock (_lock)
        {
            _broken ??= e;
            Monitor.PulseAll(_lock);
        }
    }

    private void ThrowIfBroken(int rank)
    {
        if (_broken is { } e) throw new IOException($"rank {rank}: the process group is broken: {e.Message}", e);
        foreach (int r in _leftOrder)
            if (r != rank) throw new IOException($"rank {rank}: rank {r} has left the group");
        if (_left[rank]) throw new ObjectDisposedException(nameof(ThreadProcessGroup), $"rank {rank}: this rank's group was disposed");
    }
}

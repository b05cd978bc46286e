namespace TinyLlama.Distributed.DataParallel;

/// <summary>
/// The background communication thread: all-reduces (averages) bucket buffers as they become ready, strictly in
/// bucket order, while the training thread goes on with backward. The order matters: every rank must issue the same
/// collectives in the same sequence, and a bucket that fills early on one rank (a parameter unused there) must not
/// overtake one that is still filling, so bucket k waits for buckets 0 … k−1.
/// A dedicated thread rather than a pool task: the CPU kernels keep the thread pool busy during backward.
/// </summary>
internal sealed class BucketReducer : IDisposable
{
    private readonly IProcessGroup _group;
    private readonly float[][] _buffers;
    private readonly bool[] _ready;
    private readonly object _lock = new();
    private readonly Thread _thread;
    private int _next;
    private bool _active, _disposed;
    private Exception? _error;
    private int _failedBucket;

    public BucketReducer(IProcessGroup group, float[][] buffers)
    {
        _group = group;
        _buffers = buffers;
        _ready = new bool[buffers.Length];
        _thread = new Thread(Loop) { IsBackground = true, Name = $"gradient all-reduce (rank {group.Rank})" };
        _thread.Start();
    }

    /// <summary>Seconds spent inside all-reduce calls in the last round (for overlap figures).</summary>
    public double LastRoundReduceSeconds { get; private set; }

    /// <summary>Starts a round: every bucket will be reduced once, after <see cref="MarkReady"/>.</summary>
    public void StartRound()
    {
        lock (_lock)
        {
            if (_active) throw new InvalidOperationException("gradient sync: a new round started before the last one finished");
            Array.Clear(_ready);
            _next = 0;
            _error = null;
            LastRoundReduceSeconds = 0;
            _active = true;
        }
    }

    /// <summary>Bucket <paramref name="bucket"/>'s buffer is filled; reduce it when its turn comes.</summary>
    public void MarkReady(int bucket)
    {
        lock (_lock)
        {
            _ready[bucket] = true;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Waits until every bucket of the round is reduced; rethrows a failure of the process group.</summary>
    public void WaitRound()
    {
        lock (_lock)
        {
            while (_active && _error is null) Monitor.Wait(_lock);
            _active = false;
            if (_error is { } e) throw new IOException($"rank {_group.Rank}: the all-reduce of gradient bucket {_failedBucket} failed: {e.Message}", e);
        }
    }

    private void Loop()
    {
        while (true)
        {
            int bucket;
            lock (_lock)
            {
                while (!_disposed && !(_active && _error is null && _next < _buffers.Length && _ready[_next])) Monitor.Wait(_lock);
                if (_disposed) return;
                bucket = _next;
            }
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                _group.AllReduce(_buffers[bucket], ReduceOp.Average);
            }
            catch (Exception e)
            {
                lock (_lock)
                {
                    (_error, _failedBucket) = (e, bucket);
                    Monitor.PulseAll(_lock);
                }
                continue;
            }
            lock (_lock)
            {
                LastRoundReduceSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (++_next == _buffers.Length) _active = false;
                Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>
    /// Stops the thread. One blocked inside a collective (a peer gone silent) returns when the process group fails
    /// the call; it is a background thread, so it never keeps the process alive.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            Monitor.PulseAll(_lock);
        }
        _thread.Join(TimeSpan.FromSeconds(10));
    }
}

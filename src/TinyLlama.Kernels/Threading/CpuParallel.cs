namespace TinyLlama.Kernels;

/// <summary>
/// Splits a loop over independent items (rows, heads, tiles) across the cores, but only when the
/// work is large enough to pay for the hand-off: a thread-pool dispatch costs a few microseconds,
/// which is about 50k floating-point operations on one core.
/// </summary>
public static class CpuParallel
{
    /// <summary>Below this much total work (in element-operations) everything runs on the calling thread.</summary>
    public const long MinParallelWork = 1L << 16;

    /// <summary>The variable that caps <see cref="MaxDegree"/> for a process (as OMP_NUM_THREADS does for PyTorch).</summary>
    public const string ThreadsVariable = "TINYLLAMA_NUM_THREADS";

    /// <summary>
    /// Cores the kernels may use: $TINYLLAMA_NUM_THREADS when set (the launcher sets it so that N ranks on one
    /// machine share the cores instead of each taking all of them), else every core. Settable for benchmarks and tests.
    /// </summary>
    public static int MaxDegree { get; set; } = DefaultDegree();

    static int DefaultDegree() =>
        int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out int threads) && threads > 0
            ? threads
            : Environment.ProcessorCount;

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over disjoint ranges covering [0, count).
    /// <paramref name="workPerItem"/> is a rough cost of one item, used only to decide whether to go parallel.
    /// </summary>
    public static void For(int count, long workPerItem, Action<int, int> body)
    {
        if (count <= 0) return;
        int degree = Math.Min(MaxDegree, count);
        if (degree <= 1 || count * Math.Max(1, workPerItem) < MinParallelWork)
        {
            body(0, count);
            return;
        }
        // A few chunks per core balance uneven items (causal attention rows) without much overhead.
        int chunks = Math.Min(count, degree * 4);
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = degree }, chunk =>
        {
            int start = (int)((long)count * chunk / chunks);
            int end = (int)((long)count * (chunk + 1) / chunks);
            if (end > start) body(start, end);
        });
    }
}

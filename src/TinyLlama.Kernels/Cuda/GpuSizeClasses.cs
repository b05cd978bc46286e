namespace TinyLlama.Kernels;

/// <summary>
/// The sizes the caching allocator asks the driver for. A request is rounded up to its class, and a freed block is
/// reused only by a request of the same class, so the classes decide both how often blocks are reused and how much
/// memory is wasted:
/// <list type="bullet">
/// <item>up to 1 MiB: multiples of 512 B (the driver's own alignment is 256 B). Waste is under 512 B a block.</item>
/// <item>above 1 MiB: multiples of 2 MiB, the driver's large-page granularity. Waste is under 2 MiB a block, that
/// is under half of a 1–2 MiB request and under 1/N of an N × 2 MiB one (3% of a 64 MiB activation).</item>
/// </list>
/// A training step allocates the same shapes every step, so after the first step every request is a cache hit.
/// This is PyTorch's rounding for small blocks; unlike PyTorch we never split a cached block into smaller ones,
/// which keeps the allocator short at the cost of some memory held in the cache (freed on out-of-memory).
/// </summary>
public static class GpuSizeClasses
{
    public const long SmallGranularity = 512;
    public const long SmallLimit = 1L << 20;
    public const long LargeGranularity = 2L << 20;

    /// <summary>The block size served for a request of <paramref name="bytes"/> (0 B gets the smallest block).</summary>
    public static long Of(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes <= SmallLimit) return Math.Max(SmallGranularity, RoundUp(bytes, SmallGranularity));
        return RoundUp(bytes, LargeGranularity);
    }

    static long RoundUp(long bytes, long granularity) => checked((bytes + granularity - 1) / granularity * granularity);
}

namespace TinyLlama.Kernels;

/// <summary>
/// The device could not give a block even after the allocator freed its cache and retried. The message names the
/// request, its size class and the allocator's statistics, so the user can tell "the model does not fit" (large in
/// use) from "fragmented cache" (large cached).
/// </summary>
public sealed class GpuOutOfMemoryException : Exception
{
    public GpuOutOfMemoryException(string message, long requestedBytes, GpuMemoryStatistics statistics, Exception? inner)
        : base(message, inner)
    {
        RequestedBytes = requestedBytes;
        Statistics = statistics;
    }

    public long RequestedBytes { get; }

    public GpuMemoryStatistics Statistics { get; }
}

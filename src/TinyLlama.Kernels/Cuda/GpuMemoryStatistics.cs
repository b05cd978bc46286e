using System.Globalization;

namespace TinyLlama.Kernels;

/// <summary>A snapshot of a <see cref="GpuMemoryPool"/>'s counters. Byte counts are of whole blocks (size classes).</summary>
/// <param name="BytesInUse">Blocks handed out and not yet returned.</param>
/// <param name="BytesCached">Blocks returned and kept for reuse: held from the driver, free for us.</param>
/// <param name="PeakBytesInUse">The largest <paramref name="BytesInUse"/> since the pool was made (or the peak was reset).</param>
/// <param name="BlocksInUse">Number of blocks handed out.</param>
/// <param name="BlocksCached">Number of blocks in the free lists.</param>
/// <param name="Requests">Allocations asked of the pool.</param>
/// <param name="CacheHits">Requests served from a free list, with no driver call.</param>
/// <param name="DriverAllocations">Blocks allocated from the driver.</param>
/// <param name="DriverFrees">Blocks given back to the driver (<see cref="GpuMemoryPool.EmptyCache"/>, out-of-memory retries).</param>
public sealed record GpuMemoryStatistics(
    long BytesInUse,
    long BytesCached,
    long PeakBytesInUse,
    int BlocksInUse,
    int BlocksCached,
    long Requests,
    long CacheHits,
    long DriverAllocations,
    long DriverFrees)
{
    /// <summary>Everything held from the driver.</summary>
    public long BytesReserved => BytesInUse + BytesCached;

    public override string ToString() =>
        $"in use {Bytes(BytesInUse)} in {BlocksInUse} blocks (peak {Bytes(PeakBytesInUse)}), " +
        $"cached {Bytes(BytesCached)} in {BlocksCached} blocks, {Requests} requests, {CacheHits} cache hits, " +
        $"{DriverAllocations} driver allocations, {DriverFrees} driver frees";

    /// <summary>Bytes with a binary unit, e.g. "3.50 MiB (3670016 B)": exact enough to check, short enough to read.</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1) { value /= 1024; unit++; }
        return unit == 0
            ? $"{bytes} B"
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.00} {units[unit]} ({bytes} B)");
    }
}

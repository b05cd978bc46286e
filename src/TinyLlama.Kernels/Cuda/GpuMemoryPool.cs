using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels;

/// <summary>
/// A caching allocator for one device: blocks come from the driver once (<c>cuMemAlloc</c> through ILGPU) and, when
/// freed, go to a free list per size class (<see cref="GpuSizeClasses"/>) instead of back to the driver, so a
/// training step makes no driver allocation after the first step. Driver allocation is slow and synchronising;
/// a free list pop is a dictionary lookup under a lock.
///
/// <para><b>The stream rule.</b> A freed block is lent again at once, while kernels queued before the free may still
/// be using it. That is safe because every kernel and copy on device tensors is queued on the device's one default
/// stream: whatever the next owner queues runs after everything the previous owner queued. Work queued on another
/// stream (<see cref="GpuDevice.CreateStream"/>) must be finished (that stream synchronised, or the default stream
/// made to wait) before the blocks it touches are disposed. PyTorch records streams per block for this; we keep the
/// rule instead, because our ops run in one stream order.</para>
///
/// <para><b>Out of memory.</b> When the driver refuses (or <see cref="CapacityBytes"/> would be passed), the cache is
/// given back to the driver and the allocation tried once more; a second refusal throws
/// <see cref="GpuOutOfMemoryException"/> with the request and the statistics.</para>
///
/// Thread-safe: one lock guards the free lists, the counters and the driver calls (rare after the first step),
/// which keeps the accounting exact.
/// </summary>
public sealed class GpuMemoryPool : IDisposable
{
    readonly Accelerator accelerator;
    readonly object gate = new();
    readonly Dictionary<long, Stack<MemoryBuffer1D<byte, Stride1D.Dense>>> freeLists = [];
    // Every block lent out, held strongly: ILGPU buffers free their memory in a finalizer, and a tensor that was never
    // disposed returns its block from its own finalizer. Without this set both finalizers could run in one GC, in
    // either order, and a dead buffer would enter a free list.
    readonly HashSet<MemoryBuffer1D<byte, Stride1D.Dense>> lent = new(ReferenceEqualityComparer.Instance);
    long bytesInUse, bytesCached, peakBytesInUse, requests, cacheHits, driverAllocations, driverFrees;
    int blocksInUse, blocksCached;
    bool disposed;

    /// <param name="accelerator">The device whose memory is pooled.</param>
    /// <param name="capacityBytes">
    /// An upper bound on the bytes held from the driver (in use + cached), or null for whatever the device has. It lets
    /// one device be shared (a fraction of its memory per process) and lets tests run the out-of-memory path on the
    /// CPU accelerator, whose memory is the host's.
    /// </param>
    /// <param name="deviceName">How errors name the device, e.g. "cuda:0"; the accelerator's name when null.</param>
    public GpuMemoryPool(Accelerator accelerator, long? capacityBytes = null, string? deviceName = null)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        if (capacityBytes is <= 0) throw new ArgumentOutOfRangeException(nameof(capacityBytes), $"capacity {capacityBytes} B must be positive");
        this.accelerator = accelerator;
        CapacityBytes = capacityBytes;
        DeviceName = deviceName ?? accelerator.Name;
    }

    public string DeviceName { get; }

    public long? CapacityBytes { get; }

    public GpuMemoryStatistics Statistics
    {
        get
        {
            lock (gate)
                return new GpuMemoryStatistics(bytesInUse, bytesCached, peakBytesInUse, blocksInUse, blocksCached,
                    requests, cacheHits, driverAllocations, driverFrees);
        }
    }

    /// <summary>A block of at least <paramref name="bytes"/> bytes (contents undefined: a reused block holds old data).</summary>
    public GpuMemoryBlock Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long size = GpuSizeClasses.Of(bytes);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            requests++;
            MemoryBuffer1D<byte, Stride1D.Dense> buffer;
            if (freeLists.TryGetValue(size, out var list) && list.Count > 0)
            {
                buffer = list.Pop();
                bytesCached -= size;
                blocksCached--;
                cacheHits++;
            }
            else
            {
                buffer = FromDriver(bytes, size);
            }
            lent.Add(buffer);
            bytesInUse += size;
            blocksInUse++;
            peakBytesInUse = Math.Max(peakBytesInUse, bytesInUse);
            return new GpuMemoryBlock(this, buffer, bytes);
        }
    }

    /// <summary>Gives every cached block back to the driver. Blocks in use are not touched.</summary>
    public void EmptyCache()
    {
        lock (gate) FreeCached();
    }

    /// <summary>Starts the peak over from the bytes in use now (e.g. per training step).</summary>
    public void ResetPeak()
    {
        lock (gate) peakBytesInUse = bytesInUse;
    }

    internal void Return(MemoryBuffer1D<byte, Stride1D.Dense> buffer)
    {
        lock (gate)
        {
            if (!lent.Remove(buffer))
                throw new InvalidOperationException("GpuMemoryPool: a block was returned that this pool did not lend (or returned twice)");
            bytesInUse -= buffer.Length;
            blocksInUse--;
            if (disposed)
            {
                // The device is closed: nothing will reuse the block, and its memory went with the accelerator, which
                // frees everything allocated on it. Touching the buffer here (possibly on the finalizer thread, after
                // the accelerator is gone) could only throw.
                return;
            }
            if (!freeLists.TryGetValue(buffer.Length, out var list)) freeLists[buffer.Length] = list = new();
            list.Push(buffer);
            bytesCached += buffer.Length;
            blocksCached++;
        }
    }

    MemoryBuffer1D<byte, Stride1D.Dense> FromDriver(long requested, long size)
    {
        // cuMemAlloc and cuMemFree act on the calling thread's current CUDA context, and any thread may allocate or
        // empty the cache (a data loader, the finalizer), so the device's context is made current around them.
        using var binding = accelerator.BindScoped();
        Exception? refusal = null;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (attempt == 1) FreeCached();
            if (CapacityBytes is { } capacity && bytesInUse + bytesCached + size > capacity)
            {
                refusal = null;
                continue;
            }
            try
            {
                var buffer = accelerator.Allocate1D<byte>(size);
                driverAllocations++;
                return buffer;
            }
            catch (Exception e) when (IsOutOfMemory(e))
            {
                refusal = e;
            }
        }
        var statistics = new GpuMemoryStatistics(bytesInUse, bytesCached, peakBytesInUse, blocksInUse, blocksCached,
            requests, cacheHits, driverAllocations, driverFrees);
        string limit = CapacityBytes is { } cap ? $"the pool's capacity of {GpuMemoryStatistics.Bytes(cap)}" : "the device";
        throw new GpuOutOfMemoryException(
            $"{DeviceName}: out of memory: a request of {GpuMemoryStatistics.Bytes(requested)} " +
            $"(size class {GpuMemoryStatistics.Bytes(size)}) was refused by {limit} even after freeing the cache; {statistics}",
            requested, statistics, refusal);
    }

    /// <summary>The CPU accelerator throws the runtime's OutOfMemoryException; ILGPU's CudaException carries the driver error's enum name.</summary>
    internal static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException
        || e is CudaException { Error: nameof(CudaError.CUDA_ERROR_OUT_OF_MEMORY) };

    void FreeCached()
    {
        if (blocksCached == 0) return;
        using var binding = accelerator.BindScoped();
        // A cached block may still be read by queued work (the stream rule lends it again without waiting); the
        // driver must not reuse its memory before that work is done.
        accelerator.Synchronize();
        foreach (var list in freeLists.Values)
            while (list.Count > 0)
            {
                list.Pop().Dispose();
                driverFrees++;
            }
        bytesCached = 0;
        blocksCached = 0;
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            FreeCached();
            disposed = true;
        }
    }
}

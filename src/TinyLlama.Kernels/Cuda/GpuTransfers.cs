using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Host ⇄ device copies through a pinned (page-locked) staging buffer. The driver can DMA only from pinned memory:
/// a copy from ordinary managed memory is staged by the driver through its own small pinned buffer, synchronously
/// and slowly. We keep one pinned buffer per device (allocated on first use, <see cref="ChunkBytes"/> long), copy the
/// caller's span into it chunk by chunk and queue an asynchronous copy of each chunk on the device's default stream,
/// so transfers are ordered with the kernels around them (the stream rule of <see cref="GpuMemoryPool"/>).
/// Each chunk is waited for before the buffer is refilled; that keeps one buffer and no events. Thread-safe: one
/// transfer at a time per device.
/// On the CPU accelerator (the simulated device) the "pinned" buffer is an ordinary pinned array and the copies are
/// memory copies, which exercises the same code.
/// </summary>
public sealed class GpuTransfers : IDisposable
{
    /// <summary>Size of the staging buffer: large enough for full PCIe/NVLink speed, small enough to keep pinned for the process.</summary>
    public const int DefaultChunkBytes = 8 << 20;

    readonly Accelerator accelerator;
    readonly AcceleratorStream stream;
    readonly object gate = new();
    PageLockedArray1D<byte>? staging;
    bool disposed;

    public GpuTransfers(Accelerator accelerator, AcceleratorStream stream, int chunkBytes = DefaultChunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        this.accelerator = accelerator;
        this.stream = stream;
        ChunkBytes = chunkBytes;
    }

    public int ChunkBytes { get; }

    /// <summary>Bytes moved host → device and device → host since the device was opened.</summary>
    public long BytesUploaded { get; private set; }

    public long BytesDownloaded { get; private set; }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> (same length); returns when the data is on the device.</summary>
    public unsafe void Upload<T>(ReadOnlySpan<T> source, ArrayView<T> destination) where T : unmanaged
    {
        KernelArgs.Length("GpuTransfers.Upload", "destination", destination.Length, source.Length, "source.Length");
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(source);
        ArrayView<byte> target = destination.Cast<byte>();
        lock (gate)
        {
            var pinned = Staging();
            for (long done = 0; done < bytes.Length; done += ChunkBytes)
            {
                int n = (int)Math.Min(ChunkBytes, bytes.Length - done);
                bytes.Slice((int)done, n).CopyTo(pinned.Span);
                target.SubView(done, n).CopyFromCPUUnsafeAsync(stream, ref pinned.Span[0], n);
                stream.Synchronize(); // the staging buffer is refilled next
            }
            BytesUploaded += bytes.Length;
        }
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> after all work queued on the stream so far.</summary>
    public unsafe void Download<T>(ArrayView<T> source, Span<T> destination) where T : unmanaged
    {
        KernelArgs.Length("GpuTransfers.Download", "destination", destination.Length, source.Length, "source.Length");
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        ArrayView<byte> from = source.Cast<byte>();
        lock (gate)
        {
            var pinned = Staging();
            for (long done = 0; done < bytes.Length; done += ChunkBytes)
            {
                int n = (int)Math.Min(ChunkBytes, bytes.Length - done);
                from.SubView(done, n).CopyToCPUUnsafeAsync(stream, ref pinned.Span[0], n);
                stream.Synchronize();
                pinned.Span[..n].CopyTo(bytes.Slice((int)done, n));
            }
            BytesDownloaded += bytes.Length;
        }
    }

    PageLockedArray1D<byte> Staging()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return staging ??= accelerator.AllocatePageLocked1D<byte>(ChunkBytes, uninitialized: true);
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            staging?.Dispose();
            staging = null;
        }
    }
}

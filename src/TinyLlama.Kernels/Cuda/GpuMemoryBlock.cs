using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Device memory lent by a <see cref="GpuMemoryPool"/>: at least <see cref="RequestedBytes"/> bytes, 512-byte aligned.
/// <see cref="Dispose"/> gives it back to the pool's free list (not to the driver); disposing twice is harmless, and a
/// view taken before Dispose must not be used after it (the next request of the same size gets the same memory).
/// </summary>
public sealed class GpuMemoryBlock : IDisposable
{
    readonly GpuMemoryPool pool;
    readonly MemoryBuffer1D<byte, Stride1D.Dense> buffer;
    int returned;

    internal GpuMemoryBlock(GpuMemoryPool pool, MemoryBuffer1D<byte, Stride1D.Dense> buffer, long requestedBytes)
    {
        this.pool = pool;
        this.buffer = buffer;
        RequestedBytes = requestedBytes;
    }

    /// <summary>The bytes asked for.</summary>
    public long RequestedBytes { get; }

    /// <summary>The bytes held: the request's size class.</summary>
    public long SizeInBytes => buffer.Length;

    public bool IsReturned => Volatile.Read(ref returned) != 0;

    /// <summary>The requested bytes.</summary>
    public ArrayView<byte> Bytes => ((ArrayView<byte>)Live().View).SubView(0, RequestedBytes);

    /// <summary>The first <paramref name="count"/> elements of type T.</summary>
    public unsafe ArrayView<T> View<T>(long count) where T : unmanaged
    {
        long bytes = checked(count * sizeof(T));
        if (count < 0 || bytes > RequestedBytes)
            throw new ArgumentOutOfRangeException(nameof(count),
                $"a view of {count} {typeof(T).Name} ({bytes} B) does not fit in a block of {RequestedBytes} B");
        return ((ArrayView<byte>)Live().View).SubView(0, bytes).Cast<T>();
    }

    /// <summary>Every whole element of type T in the requested bytes.</summary>
    public unsafe ArrayView<T> View<T>() where T : unmanaged => View<T>(RequestedBytes / sizeof(T));

    MemoryBuffer1D<byte, Stride1D.Dense> Live() => IsReturned
        ? throw new ObjectDisposedException(nameof(GpuMemoryBlock), $"a GPU block of {RequestedBytes} B was used after it went back to the pool")
        : buffer;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref returned, 1) == 0) pool.Return(buffer);
    }
}

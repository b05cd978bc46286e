using System.Runtime.InteropServices;

namespace TinyLlama.Tensors;

/// <summary>
/// A reference-counted block of memory that tensors (and their views) share. Big buffers are freed as soon as the
/// last tensor using them is disposed, not when the GC gets round to it; the finalizer is only a safety net.
/// </summary>
public abstract class TensorStorage
{
    private int _refCount = 1;

    protected TensorStorage(DType dtype, long length, Device device)
    {
        DType = dtype;
        Length = length;
        Device = device;
    }

    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    public Device Device { get; }

    public long SizeInBytes => Length * DType.SizeInBytes();

    public bool IsReleased => Volatile.Read(ref _refCount) <= 0;

    internal int RefCount => Volatile.Read(ref _refCount);

    internal void AddRef()
    {
        if (Interlocked.Increment(ref _refCount) <= 1)
            throw new ObjectDisposedException(nameof(TensorStorage), "storage was already freed");
    }

    internal void Release()
    {
        int left = Interlocked.Decrement(ref _refCount);
        if (left == 0) Free();
    }

    protected abstract void Free();
}

/// <summary>Host memory, 64-byte aligned so vector loads never split a cache line at the start of a row.</summary>
public sealed unsafe class CpuStorage : TensorStorage
{
    private IntPtr _pointer;

    public CpuStorage(DType dtype, long length, bool zeroed = true) : base(dtype, length, Device.Cpu)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), $"storage length {length} is negative");
        nuint bytes = (nuint)Math.Max(1, length * dtype.SizeInBytes());
        _pointer = (IntPtr)NativeMemory.AlignedAlloc(bytes, 64);
        if (zeroed) NativeMemory.Clear((void*)_pointer, bytes);
        if (length * dtype.SizeInBytes() > 1 << 20) GC.AddMemoryPressure((long)bytes);
    }

    public void* Pointer => _pointer != IntPtr.Zero ? (void*)_pointer : throw new ObjectDisposedException(nameof(CpuStorage), "storage was already freed");

    public Span<T> AsSpan<T>(long offset, long count) where T : unmanaged
    {
        if (offset < 0 || count < 0 || offset + count > Length * DType.SizeInBytes() / sizeof(T))
            throw new ArgumentOutOfRangeException(nameof(offset), $"span [{offset}, {offset + count}) is outside storage of {Length} elements");
        if (count > int.MaxValue)
            throw new NotSupportedException($"a CPU span of {count} elements is larger than .NET spans allow ({int.MaxValue})");
        return new Span<T>((T*)Pointer + offset, (int)count);
    }

    protected override void Free()
    {
        void* p = (void*)Interlocked.Exchange(ref _pointer, IntPtr.Zero);
        if (p == null) return;
        NativeMemory.AlignedFree(p);
        long bytes = Length * DType.SizeInBytes();
        if (bytes > 1 << 20) GC.RemoveMemoryPressure(Math.Max(1, bytes));
        GC.SuppressFinalize(this);
    }

    ~CpuStorage()
    {
        // Safety net only: a tensor that was never disposed still gives its memory back eventually.
        if (_pointer != IntPtr.Zero) Free();
    }
}

using ILGPU;
using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// Device memory of a cuda tensor: a block from the device's caching allocator, shared by the tensor and its views
/// and reference-counted like <see cref="CpuStorage"/>. Freeing gives the block back to the allocator's free list
/// (no driver call); under the allocator's stream rule the next owner's work is queued after this owner's.
/// </summary>
public sealed class GpuStorage : TensorStorage
{
    private GpuMemoryBlock? _block;

    public GpuStorage(GpuDevice device, DType dtype, long length)
        : base(dtype, length, Device.Cuda(device.Index))
    {
        ArgumentNullException.ThrowIfNull(device);
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), $"storage length {length} is negative");
        GpuDevice = device;
        _block = device.Memory.Allocate(checked(length * dtype.SizeInBytes()));
    }

    public GpuDevice GpuDevice { get; }

    public GpuMemoryBlock Block => _block ?? throw new ObjectDisposedException(nameof(GpuStorage), "storage was already freed");

    /// <summary>The whole storage as bytes.</summary>
    public ArrayView<byte> Bytes => Block.Bytes;

    /// <summary>
    /// Elements [offset, offset + count) as T, where T has the dtype's size (ushort for bf16 and f16, float or int
    /// for f32 and i32, double for f64): kernels read bf16 and f16 as their bit patterns.
    /// </summary>
    public unsafe ArrayView<T> View<T>(long offset, long count) where T : unmanaged
    {
        if (sizeof(T) != DType.SizeInBytes())
            throw new InvalidOperationException($"a {DType.Name()} storage cannot be viewed as {typeof(T).Name} ({sizeof(T)} B elements)");
        if (offset < 0 || count < 0 || offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"view [{offset}, {offset + count}) is outside storage of {Length} elements");
        return Block.View<T>(Length).SubView(offset, count);
    }

    protected override void Free()
    {
        Interlocked.Exchange(ref _block, null)?.Dispose();
        GC.SuppressFinalize(this);
    }

    ~GpuStorage()
    {
        // Safety net only: an undisposed cuda tensor still returns its block to the allocator eventually.
        Interlocked.Exchange(ref _block, null)?.Dispose();
    }
}

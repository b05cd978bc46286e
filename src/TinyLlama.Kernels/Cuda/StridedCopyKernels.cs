using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Where the elements of a strided view (a transpose, a slice) lie in its storage: up to
/// <see cref="MaxRank"/> sizes and strides in elements, and the view's offset. Passed to a kernel by value, so a
/// copy needs no upload of its shape. Fields rather than an array because kernel parameters must be plain structs.
/// </summary>
public struct StridedLayout
{
    public const int MaxRank = 6;

    public int Rank;
    public long Offset;
    public long Size0, Size1, Size2, Size3, Size4, Size5;
    public long Stride0, Stride1, Stride2, Stride3, Stride4, Stride5;

    public static StridedLayout Create(ReadOnlySpan<int> shape, ReadOnlySpan<long> strides, long offset)
    {
        if (shape.Length > MaxRank)
            throw new NotSupportedException($"a strided GPU copy handles rank ≤ {MaxRank}; got rank {shape.Length}");
        if (strides.Length != shape.Length)
            throw new ArgumentException($"{strides.Length} strides for rank {shape.Length}");
        var layout = new StridedLayout { Rank = shape.Length, Offset = offset };
        for (int d = 0; d < shape.Length; d++) layout.Set(d, shape[d], strides[d]);
        return layout;
    }

    /// <summary>The storage index of the element at row-major position <paramref name="linear"/> of the view.</summary>
    public readonly long SourceIndex(long linear)
    {
        long index = Offset, rest = linear;
        for (int d = Rank - 1; d >= 0; d--)
        {
            long size = Size(d);
            index += rest % size * Stride(d);
            rest /= size;
        }
        return index;
    }

    // A switch, not an array: ILGPU kernels take no managed arrays. Out-of-range axes read as size 1, stride 0.
    readonly long Size(int d) => d switch { 0 => Size0, 1 => Size1, 2 => Size2, 3 => Size3, 4 => Size4, 5 => Size5, _ => 1 };

    readonly long Stride(int d) => d switch { 0 => Stride0, 1 => Stride1, 2 => Stride2, 3 => Stride3, 4 => Stride4, 5 => Stride5, _ => 0 };

    void Set(int d, long size, long stride)
    {
        switch (d)
        {
            case 0: Size0 = size; Stride0 = stride; break;
            case 1: Size1 = size; Stride1 = stride; break;
            case 2: Size2 = size; Stride2 = stride; break;
            case 3: Size3 = size; Stride3 = stride; break;
            case 4: Size4 = size; Stride4 = stride; break;
            default: Size5 = size; Stride5 = stride; break;
        }
    }
}

/// <summary>
/// Makes a strided view contiguous on the GPU (what <c>Tensor.Contiguous()</c> needs for a cuda tensor). Elements are
/// moved as raw bits of their size: ushort for bf16/f16, uint for f32/i32, ulong for f64.
/// </summary>
public static class StridedCopyKernels
{
    /// <summary>destination[i] = source[layout.SourceIndex(i)] for i over destination; a grid-stride loop.</summary>
    [GpuKernel(typeof(ushort))]
    [GpuKernel(typeof(uint))]
    [GpuKernel(typeof(ulong))]
    public static void Gather<T>(ArrayView<T> source, ArrayView<T> destination, StridedLayout layout) where T : unmanaged
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < destination.Length; i += stride)
            destination[i] = source[layout.SourceIndex(i)];
    }
}

/// <summary>Launches <see cref="StridedCopyKernels"/> on one accelerator.</summary>
public sealed class StridedCopyGpu
{
    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, StridedLayout> gather16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<uint>, ArrayView<uint>, StridedLayout> gather32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ulong>, ArrayView<ulong>, StridedLayout> gather64;

    public StridedCopyGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        gather16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, StridedLayout>(StridedCopyKernels.Gather);
        gather32 = accelerator.LoadKernel<ArrayView<uint>, ArrayView<uint>, StridedLayout>(StridedCopyKernels.Gather);
        gather64 = accelerator.LoadKernel<ArrayView<ulong>, ArrayView<ulong>, StridedLayout>(StridedCopyKernels.Gather);
    }

    /// <summary>
    /// Copies the view described by <paramref name="layout"/> out of <paramref name="source"/> (whole storages as bytes)
    /// into <paramref name="destination"/>, row-major. <paramref name="elementSize"/> is 2, 4 or 8 bytes.
    /// </summary>
    public void Gather(AcceleratorStream stream, ArrayView<byte> source, ArrayView<byte> destination, StridedLayout layout, int elementSize)
    {
        long count = destination.Length / elementSize;
        if (count == 0) return;
        var config = GpuLaunch.Elementwise(accelerator, count);
        switch (elementSize)
        {
            case 2: gather16(stream, config, source.Cast<ushort>(), destination.Cast<ushort>(), layout); break;
            case 4: gather32(stream, config, source.Cast<uint>(), destination.Cast<uint>(), layout); break;
            case 8: gather64(stream, config, source.Cast<ulong>(), destination.Cast<ulong>(), layout); break;
            default: throw new ArgumentOutOfRangeException(nameof(elementSize), $"element size {elementSize} B; expected 2, 4 or 8");
        }
    }
}

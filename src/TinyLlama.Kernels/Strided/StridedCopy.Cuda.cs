using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Strided-view copies and the tiled transpose on the GPU. Definitions: <see cref="StridedCopy.CopyReference{T}"/> and
/// <see cref="StridedCopy.TransposeReference{T}"/>.
/// </summary>
public static class StridedCopyKernels
{
    /// <summary>Tile edge of the transpose; the shared tile is padded to 33 columns so column reads hit 32 banks.</summary>
    public const int Tile = 32;

    /// <summary>Rows of a tile each thread handles: a group is 32 × 8 threads, each moving 4 elements per tile.</summary>
    public const int TileRowsPerPass = 8;

    /// <summary>Threads per transpose group.</summary>
    public const int TransposeGroupSize = Tile * TileRowsPerPass;

    /// <summary>
    /// destination[j] = source[offset(j)] for a strided view, same storage type (a raw copy, so i32 ids move too).
    /// Layout: 1-D grid-stride over the destination, one element per thread per step; consecutive threads write
    /// consecutive elements (coalesced stores), reads are as coalesced as the view's innermost stride allows.
    /// Traffic: sizeof(T) read + sizeof(T) written per element (4+4 f32/i32, 2+2 bf16).
    /// </summary>
    [GpuKernel(typeof(float))]
    [GpuKernel(typeof(ushort))]
    [GpuKernel(typeof(int))]
    [GpuKernel(typeof(ulong))]
    public static void Copy<T>(ArrayView<T> source, StridedLayout layout, ArrayView<T> destination) where T : unmanaged
    {
        int stride = Grid.DimX * Group.DimX;
        int count = (int)destination.Length;
        for (int j = Grid.GlobalIndex.X; j < count; j += stride)
            destination[j] = source[StridedLayout.OffsetOf(layout, j)];
    }

    /// <summary>
    /// The same copy with a cast on the way: destination[j] = narrow(widen(source[offset(j)])) (f32 ↔ bf16, rounding to
    /// nearest even as <see cref="BFloat16.FromFloat(float)"/>). Traffic: sizeof(TIn) + sizeof(TOut) per element.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element), typeof(ushort), typeof(Bf16Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(float), typeof(F32Element))]
    public static void Convert<TIn, TInElement, TOut, TOutElement>(ArrayView<TIn> source, StridedLayout layout, ArrayView<TOut> destination)
        where TIn : unmanaged where TInElement : struct, IGpuElement<TIn>
        where TOut : unmanaged where TOutElement : struct, IGpuElement<TOut>
    {
        int stride = Grid.DimX * Group.DimX;
        int count = (int)destination.Length;
        for (int j = Grid.GlobalIndex.X; j < count; j += stride)
            destination[j] = default(TOutElement).Narrow(default(TInElement).Widen(source[StridedLayout.OffsetOf(layout, j)]));
    }

    /// <summary>
    /// Batched transpose through shared memory: source (batch, rows, cols) → destination (batch, cols, rows).
    /// Layout: a group of 32×8 threads owns one 32×32 tile at a time (grid-stride over the batch·⌈rows/32⌉·⌈cols/32⌉
    /// tiles); thread (tx, ty) reads source rows ty, ty+8, ty+16, ty+24 of the tile at column tx (a warp reads 32
    /// consecutive elements: coalesced), stores them in a 32×33 shared tile, and after a barrier writes destination
    /// rows ty+8k at column tx from the tile's column (again 32 consecutive elements per warp). The padding column
    /// makes the column reads of f32 tiles conflict-free. Traffic: sizeof(T) read + sizeof(T) written per element.
    /// </summary>
    [GpuKernel(typeof(float))]
    [GpuKernel(typeof(ushort))]
    [GpuKernel(typeof(int))]
    public static void Transpose<T>(ArrayView<T> source, ArrayView<T> destination, int batch, int rows, int cols) where T : unmanaged
    {
        var tile = SharedMemory.Allocate<T>(Tile * (Tile + 1));
        int tx = Group.IdxX % Tile, ty = Group.IdxX / Tile;
        int tilesR = (rows + Tile - 1) / Tile, tilesC = (cols + Tile - 1) / Tile;
        int perMatrix = tilesR * tilesC, tiles = batch * perMatrix;
        long matrix = (long)rows * cols;
        for (int t = Grid.IdxX; t < tiles; t += Grid.DimX)
        {
            int b = t / perMatrix, rem = t - b * perMatrix;
            int r0 = rem / tilesC * Tile, c0 = (rem - rem / tilesC * tilesC) * Tile;
            long src = b * matrix, dst = b * matrix;

            int c = c0 + tx;
            int r = r0 + ty;
            if (c < cols && r < rows) tile[ty * (Tile + 1) + tx] = source[src + (long)r * cols + c];
            r += TileRowsPerPass;
            if (c < cols && r < rows) tile[(ty + 8) * (Tile + 1) + tx] = source[src + (long)r * cols + c];
            r += TileRowsPerPass;
            if (c < cols && r < rows) tile[(ty + 16) * (Tile + 1) + tx] = source[src + (long)r * cols + c];
            r += TileRowsPerPass;
            if (c < cols && r < rows) tile[(ty + 24) * (Tile + 1) + tx] = source[src + (long)r * cols + c];
            Group.Barrier();

            // Destination row = a source column (c0 + ty + 8k), destination column = a source row (r0 + tx).
            int dr = r0 + tx;
            int dc = c0 + ty;
            if (dr < rows && dc < cols) destination[dst + (long)dc * rows + dr] = tile[tx * (Tile + 1) + ty];
            dc += TileRowsPerPass;
            if (dr < rows && dc < cols) destination[dst + (long)dc * rows + dr] = tile[tx * (Tile + 1) + ty + 8];
            dc += TileRowsPerPass;
            if (dr < rows && dc < cols) destination[dst + (long)dc * rows + dr] = tile[tx * (Tile + 1) + ty + 16];
            dc += TileRowsPerPass;
            if (dr < rows && dc < cols) destination[dst + (long)dc * rows + dr] = tile[tx * (Tile + 1) + ty + 24];
            Group.Barrier();
        }
    }
}

/// <summary>Launches the strided-copy and transpose kernels on one accelerator. Arguments are checked before launch.</summary>
public sealed class StridedCopyGpu
{
    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, StridedLayout, ArrayView<float>> copyF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, StridedLayout, ArrayView<ushort>> copyBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, StridedLayout, ArrayView<int>> copyI32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ulong>, StridedLayout, ArrayView<ulong>> copyU64;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, StridedLayout, ArrayView<ushort>> f32ToBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, StridedLayout, ArrayView<float>> bf16ToF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int> transposeF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, int, int, int> transposeBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, int, int, int> transposeI32;

    public StridedCopyGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        copyF32 = accelerator.LoadKernel<ArrayView<float>, StridedLayout, ArrayView<float>>(StridedCopyKernels.Copy<float>);
        copyBf16 = accelerator.LoadKernel<ArrayView<ushort>, StridedLayout, ArrayView<ushort>>(StridedCopyKernels.Copy<ushort>);
        copyI32 = accelerator.LoadKernel<ArrayView<int>, StridedLayout, ArrayView<int>>(StridedCopyKernels.Copy<int>);
        copyU64 = accelerator.LoadKernel<ArrayView<ulong>, StridedLayout, ArrayView<ulong>>(StridedCopyKernels.Copy<ulong>);
        f32ToBf16 = accelerator.LoadKernel<ArrayView<float>, StridedLayout, ArrayView<ushort>>(
            StridedCopyKernels.Convert<float, F32Element, ushort, Bf16Element>);
        bf16ToF32 = accelerator.LoadKernel<ArrayView<ushort>, StridedLayout, ArrayView<float>>(
            StridedCopyKernels.Convert<ushort, Bf16Element, float, F32Element>);
        transposeF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, int, int>(StridedCopyKernels.Transpose<float>);
        transposeBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, int, int, int>(StridedCopyKernels.Transpose<ushort>);
        transposeI32 = accelerator.LoadKernel<ArrayView<int>, ArrayView<int>, int, int, int>(StridedCopyKernels.Transpose<int>);
    }

    /// <summary>Copies the strided view <paramref name="layout"/> of <paramref name="source"/> into the contiguous <paramref name="destination"/>.</summary>
    public void Copy(AcceleratorStream stream, ArrayView<float> source, StridedLayout layout, ArrayView<float> destination)
    {
        Check(source.Length, layout, destination.Length);
        copyF32(stream, GpuLaunch.Elementwise(accelerator, destination.Length), source, layout, destination);
    }

    public void Copy(AcceleratorStream stream, ArrayView<ushort> source, StridedLayout layout, ArrayView<ushort> destination)
    {
        Check(source.Length, layout, destination.Length);
        copyBf16(stream, GpuLaunch.Elementwise(accelerator, destination.Length), source, layout, destination);
    }

    public void Copy(AcceleratorStream stream, ArrayView<int> source, StridedLayout layout, ArrayView<int> destination)
    {
        Check(source.Length, layout, destination.Length);
        copyI32(stream, GpuLaunch.Elementwise(accelerator, destination.Length), source, layout, destination);
    }

    /// <summary>
    /// The copy for a tensor of any dtype (what <c>Tensor.Contiguous()</c> needs for a cuda view): elements move as raw
    /// bits of <paramref name="elementSize"/> bytes (2: bf16/f16, 4: f32/i32, 8: f64); source and destination are whole
    /// storages as bytes, the layout counts elements.
    /// </summary>
    public void Gather(AcceleratorStream stream, ArrayView<byte> source, ArrayView<byte> destination, StridedLayout layout, int elementSize)
    {
        switch (elementSize)
        {
            case 2: Copy(stream, source.Cast<ushort>(), layout, destination.Cast<ushort>()); break;
            case 4: Copy(stream, source.Cast<int>(), layout, destination.Cast<int>()); break;
            case 8:
                Check(source.Length / 8, layout, destination.Length / 8);
                copyU64(stream, GpuLaunch.Elementwise(accelerator, destination.Length / 8), source.Cast<ulong>(), layout, destination.Cast<ulong>());
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(elementSize), elementSize, $"StridedCopyGpu.Gather: elementSize is {elementSize} bytes, expected 2, 4 or 8");
        }
    }

    /// <summary>Strided copy that narrows f32 to bf16 (round to nearest even) on the way.</summary>
    public void Copy(AcceleratorStream stream, ArrayView<float> source, StridedLayout layout, ArrayView<ushort> destination)
    {
        Check(source.Length, layout, destination.Length);
        f32ToBf16(stream, GpuLaunch.Elementwise(accelerator, destination.Length), source, layout, destination);
    }

    /// <summary>Strided copy that widens bf16 to f32 (exact) on the way.</summary>
    public void Copy(AcceleratorStream stream, ArrayView<ushort> source, StridedLayout layout, ArrayView<float> destination)
    {
        Check(source.Length, layout, destination.Length);
        bf16ToF32(stream, GpuLaunch.Elementwise(accelerator, destination.Length), source, layout, destination);
    }

    /// <summary>source (batch, rows, cols) → destination (batch, cols, rows), through 32×32 shared-memory tiles.</summary>
    public void Transpose(AcceleratorStream stream, ArrayView<float> source, ArrayView<float> destination, int batch, int rows, int cols)
    {
        if (CheckTranspose(source.Length, destination.Length, batch, rows, cols))
            transposeF32(stream, TransposeConfig(batch, rows, cols), source, destination, batch, rows, cols);
    }

    public void Transpose(AcceleratorStream stream, ArrayView<ushort> source, ArrayView<ushort> destination, int batch, int rows, int cols)
    {
        if (CheckTranspose(source.Length, destination.Length, batch, rows, cols))
            transposeBf16(stream, TransposeConfig(batch, rows, cols), source, destination, batch, rows, cols);
    }

    public void Transpose(AcceleratorStream stream, ArrayView<int> source, ArrayView<int> destination, int batch, int rows, int cols)
    {
        if (CheckTranspose(source.Length, destination.Length, batch, rows, cols))
            transposeI32(stream, TransposeConfig(batch, rows, cols), source, destination, batch, rows, cols);
    }

    KernelConfig TransposeConfig(int batch, int rows, int cols)
    {
        long tiles = (long)batch * ((rows + StridedCopyKernels.Tile - 1) / StridedCopyKernels.Tile)
                     * ((cols + StridedCopyKernels.Tile - 1) / StridedCopyKernels.Tile);
        int cap = GpuLaunch.Elementwise(accelerator, long.MaxValue / 2).GridDim.X;
        return new KernelConfig((int)Math.Clamp(tiles, 1, cap), StridedCopyKernels.TransposeGroupSize);
    }

    static bool CheckTranspose(long source, long destination, int batch, int rows, int cols)
    {
        StridedCopy.CheckTranspose("StridedCopyGpu.Transpose", source, destination, batch, rows, cols);
        if ((long)batch * ((rows + 31) / 32) * ((cols + 31) / 32) > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(batch), "StridedCopyGpu.Transpose: more than int.MaxValue tiles");
        return (long)batch * rows * cols > 0;
    }

    static void Check(long sourceLength, StridedLayout layout, long destinationLength)
    {
        layout.CheckInside("StridedCopyGpu.Copy", "layout", sourceLength);
        KernelArgs.Length("StridedCopyGpu.Copy", "destination", destinationLength, layout.Count, "layout element count");
    }
}

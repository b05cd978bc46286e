using System.Runtime.CompilerServices;

namespace TinyLlama.Kernels;

/// <summary>
/// The compile-time shape of a FlashAttention kernel instantiation: head size, tile sizes and thread layout. The
/// kernels are generic over a struct implementing this interface; every property returns a constant, so after
/// ILGPU inlines the getter it is a literal in the kernel, and shared-memory extents, strides and unrolled-loop
/// guards are constants (ILGPU needs constant <c>SharedMemory.Allocate</c> extents).
///
/// Thread layout (both kernels): a group owns a tile of rows (query rows forward, key rows backward), and
/// <see cref="RowThreads"/> = Hs/16 consecutive lanes share one row. Lane <c>tx</c> of a row owns
/// • the columns d = tx + RowThreads·u, u = 0..15, of that row of O (forward) or of dK and dV (backward): 16 registers each;
/// • the columns c = tx + RowThreads·u, u = 0..ColsPerThread−1, of that row of S (forward) or Sᵀ (backward).
/// A row's statistics (max, sum) are reduced across its RowThreads lanes with <c>Warp.ShuffleXor</c>.
/// Shared tiles are f32 with rows padded by one element, so the lanes of a warp that read different rows at the same
/// column hit different banks.
/// </summary>
public interface IFlashShape
{
    /// <summary>Hs: elements per head.</summary>
    int HeadSize { get; }

    /// <summary>Lanes per row: Hs / 16 (each lane owns 16 columns of a head row).</summary>
    int RowThreads { get; }

    /// <summary>Forward Br: query rows per group.</summary>
    int ForwardRows { get; }

    /// <summary>Forward: S columns per lane (4 or 8). Bc = this × RowThreads.</summary>
    int ForwardColsPerThread { get; }

    /// <summary>Backward Bc: key rows per group.</summary>
    int BackwardKeyRows { get; }

    /// <summary>Backward: Sᵀ columns (query rows) per lane (4 or 8). Br = this × RowThreads.</summary>
    int BackwardColsPerThread { get; }
}

/// <summary>Derived sizes, all constant once the shape's getters are inlined.</summary>
internal static class FlashShape
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ForwardCols<TShape>() where TShape : struct, IFlashShape =>
        default(TShape).ForwardColsPerThread * default(TShape).RowThreads;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ForwardGroupSize<TShape>() where TShape : struct, IFlashShape =>
        default(TShape).ForwardRows * default(TShape).RowThreads;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BackwardQueryRows<TShape>() where TShape : struct, IFlashShape =>
        default(TShape).BackwardColsPerThread * default(TShape).RowThreads;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BackwardGroupSize<TShape>() where TShape : struct, IFlashShape =>
        default(TShape).BackwardKeyRows * default(TShape).RowThreads;

    /// <summary>Forward static shared memory in bytes: Q (Br×(Hs+1)), one K/V tile (Bc×(Hs+1)), P (Br×(Bc+1)).</summary>
    public static int ForwardSharedBytes<TShape>() where TShape : struct, IFlashShape
    {
        var s = default(TShape);
        int hs = s.HeadSize, br = s.ForwardRows, bc = ForwardCols<TShape>();
        return 4 * (br * (hs + 1) + bc * (hs + 1) + br * (bc + 1));
    }

    /// <summary>Backward static shared memory in bytes: K and V (2·Bc×(Hs+1)), Q and dO (2·Br×(Hs+1)), Pᵀ and dSᵀ (2·Bc×(Br+1)), LSE and D (2·Br).</summary>
    public static int BackwardSharedBytes<TShape>() where TShape : struct, IFlashShape
    {
        var s = default(TShape);
        int hs = s.HeadSize, bc = s.BackwardKeyRows, br = BackwardQueryRows<TShape>();
        return 4 * (2 * bc * (hs + 1) + 2 * br * (hs + 1) + 2 * bc * (br + 1) + 2 * br);
    }
}

/// <summary>
/// Hs = 16: a small head for the CPU-accelerator tests (one lane per row, one warp per group), through the same
/// generic code as the production shapes. Forward Br = 32, Bc = 8; backward Bc = 32, Br = 4.
/// </summary>
public readonly struct FlashHead16 : IFlashShape
{
    public int HeadSize => 16;
    public int RowThreads => 1;
    public int ForwardRows => 32;
    public int ForwardColsPerThread => 8;
    public int BackwardKeyRows => 32;
    public int BackwardColsPerThread => 4;
}

/// <summary>
/// Hs = 64 (TinyLlama). Forward: Br = 64, Bc = 32, 256 threads, 33,408 B shared. Backward: Bc = 32 key rows,
/// Br = 32 query rows, 128 threads, 41,984 B shared. Both under the 48 KB static limit.
/// </summary>
public readonly struct FlashHead64 : IFlashShape
{
    public int HeadSize => 64;
    public int RowThreads => 4;
    public int ForwardRows => 64;
    public int ForwardColsPerThread => 8;
    public int BackwardKeyRows => 32;
    public int BackwardColsPerThread => 8;
}

/// <summary>
/// Hs = 128. Forward: Br = 32, Bc = 32, 256 threads, 37,248 B shared. Backward: Bc = 8 key rows, Br = 32 query
/// rows, 64 threads, 43,648 B shared — correct but small tiles: f32 tiles of a 128-wide head leave little room under
/// 48 KB; bf16 tiles in shared memory or the opt-in 227 KB would allow larger ones.
/// </summary>
public readonly struct FlashHead128 : IFlashShape
{
    public int HeadSize => 128;
    public int RowThreads => 8;
    public int ForwardRows => 32;
    public int ForwardColsPerThread => 4;
    public int BackwardKeyRows => 8;
    public int BackwardColsPerThread => 4;
}

/// <summary>Problem sizes passed to the FlashAttention kernels (one struct keeps the parameter count low).</summary>
public readonly struct FlashDims(int batch, int heads, int kvHeads, int seqLen, float scale)
{
    public readonly int Batch = batch;
    public readonly int Heads = heads;
    public readonly int KvHeads = kvHeads;
    public readonly int SeqLen = seqLen;
    /// <summary>scale·log₂e: scores are kept in base 2 so the kernels use exp2.</summary>
    public readonly float ScaleLog2 = scale * 1.4426950408889634f;
    public readonly float Scale = scale;
}

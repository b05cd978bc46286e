using System.Runtime.CompilerServices;
using ILGPU;

namespace TinyLlama.Kernels;

/// <summary>
/// What a GEMM kernel is told, packed in one struct (ILGPU loaders take at most 14 parameters). Matrices are
/// row-major as in <see cref="Gemm"/>: C = alpha·op(A)·op(B) + beta·C with op(A) (M, K), op(B) (K, N), C (M, N);
/// A is stored (M, K), or (K, M) when TransA; B is stored (K, N), or (N, K) when TransB. Matrix i of a batch starts
/// at element i·Stride of its view. beta = 0 never reads C.
/// </summary>
public struct GemmGpuParams
{
    public int M, N, K, Lda, Ldb, Ldc, Batch;
    public long StrideA, StrideB, StrideC;
    public float Alpha, Beta;
    /// <summary>1 when the operand is stored transposed.</summary>
    public int TransA, TransB;
    /// <summary>Pipeline depth of the tensor-core kernel: 2, 3 or 4 shared-memory stages.</summary>
    public int Stages;
    /// <summary>1 when A (B) may be read with 16-byte cp.async: base 16-byte aligned, ld and stride multiples of 8.</summary>
    public int VectorA, VectorB;
    /// <summary>Device addresses of element 0 of the A and B views, for the inline PTX (unused in the emulation).</summary>
    public long AddressA, AddressB;
}

/// <summary>
/// The GPU GEMM kernels: a bf16 tensor-core kernel and a plain SIMT kernel, beside the scalar definition
/// <see cref="Gemm.MultiplyReference{T}"/> they are tested against. <see cref="GemmGpu"/> chooses and launches them.
/// </summary>
public static partial class GemmKernels
{
    public const int TileM = 128, TileN = 128, TileK = 32;
    public const int WarpTileM = 64, WarpTileN = 32;
    public const int TensorCoreGroupSize = 256; // 8 warps: 2 along M × 4 along N
    /// <summary>One operand's tile in shared memory: 128 rows (or 32) × 32 columns (or 128) of bf16 = 8 KB.</summary>
    public const int OperandTileBytes = TileM * TileK * 2;
    public const int StageBytes = 2 * OperandTileBytes;
    public const int MinStages = 2, MaxStages = 4, DefaultStages = 3;
    /// <summary>Shared memory the emulation adds past the stages off CUDA: a register-exchange area per warp.</summary>
    public const int EmulationScratchBytes = TensorCoreGroupSize / 32 * MmaPtx.ScratchWordsPerWarp * 4;

    /// <summary>
    /// bf16 × bf16 → f32-accumulated GEMM on tensor cores, output stored through <typeparamref name="TCElement"/>
    /// (f32 or bf16, rounded to nearest even once, from the f32 result).
    /// <para><b>Grid.</b> One group of 256 threads (8 warps) per 128×128 tile of C: x over N tiles, y over M tiles,
    /// z (grid-stride) over the batch. Warp w owns the 64×32 sub-tile at rows 64·(w/4), columns 32·(w%4): 4×4 MMA
    /// tiles of m16n8, 16 accumulator fragments (64 f32 registers per lane).</para>
    /// <para><b>K loop.</b> K advances 32 at a time through a ring of <c>Stages</c> (2–4, default 3) shared-memory
    /// stages of 16 KB (A tile 8 KB, then B tile 8 KB): 3 stages = 48 KB, the most a kernel gets without opting in;
    /// 4 stages = 64 KB, which <see cref="GemmGpu"/> opts into with cuFuncSetAttribute. The prologue issues stages
    /// 0..S−2; iteration kt waits for its tile (<c>cp.async.wait_group S−2</c> then a barrier, which also tells every
    /// warp that stage (kt−1) mod S is no longer read), issues tile kt+S−1 into that stage, commits (always, so the
    /// group count stays in step), and computes tile kt as two k16 steps. Per k16 step a warp issues 4
    /// <c>ldmatrix.x4</c> for A (one per m16 row of its tile), 2 for B (each covers two n8 tiles) and 16
    /// <c>mma.sync.m16n8k16</c>.</para>
    /// <para><b>Shared layouts and swizzle.</b> An operand's tile is stored the way it lies in global memory, so every
    /// global read is a contiguous 16-byte chunk (8 bf16) and transposition happens in ldmatrix:
    /// <list type="bullet">
    /// <item>k-contiguous (A not transposed, B transposed): 128 rows × 32 k = 64-byte rows of 4 chunks; chunk c of
    /// row r lives at chunk c ^ ((r/2) mod 4). The 8 row addresses of one ldmatrix phase (rows r..r+7, one chunk) then
    /// fall in 8 different 16-byte bank groups. Read with plain <c>ldmatrix.x4</c>.</item>
    /// <item>m/n-contiguous (A transposed, B not transposed): 32 k-rows × 128 = 256-byte rows of 16 chunks; chunk c of
    /// row r lives at chunk c ^ (r mod 8). Read with <c>ldmatrix.x4.trans</c>, which hands each lane the k-pairs the
    /// MMA wants.</item>
    /// </list>
    /// The cp.async writes of 8 consecutive threads cover 128 contiguous bytes before swizzling and remain a
    /// permutation of bank groups after it.</para>
    /// <para><b>Fragments.</b> See <see cref="MmaPtx"/>. ldmatrix matrix j is (rows 8(j%2), k 8(j/2)) for A, so
    /// registers R0..R3 are a0..a3 of the MMA; for B, matrix j is (n 8(j/2), k 8(j%2)), so R0, R1 are b0, b1 of the
    /// first n8 tile and R2, R3 of the second.</para>
    /// <para><b>Edges.</b> Every 16-byte chunk is loaded with the number of its elements inside the operand (0..8):
    /// cp.async with src-size 2·valid zero-fills the rest, so rows past M or N and k past K contribute zeros, and
    /// stores are guarded element by element. Operands that are not 16-byte aligned (ld or stride not a multiple of
    /// 8, or an offset view) take the same path with ordinary guarded loads. Any M, N, K ≥ 0 works.</para>
    /// <para><b>Epilogue.</b> Each lane writes its accumulators straight from registers (pairs of neighbouring
    /// columns), alpha·acc + beta·C.</para>
    /// <para><b>Status.</b> This is the cp.async variant; <see cref="GemmGpu"/> runs
    /// <see cref="TensorCoreRegisterStaged{TC, TCElement}"/> by default, because ptxas 11.8 keeps this kernel's
    /// inline-PTX output slots in local memory (888-byte stack frame) and not that one's. docs/gpu-matmul.md has the
    /// whole design, the ptxas figures and what an H100 must still confirm.</para>
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void TensorCore<TC, TCElement>(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<TC> c, GemmGpuParams p)
        where TC : unmanaged where TCElement : struct, IGpuElement<TC>
    {
        // One dynamic region viewed through casts (never a second GetDynamic: on the CPU accelerator those do not
        // alias). Its element is 16 bytes so ILGPU declares it .align 16, which cp.async and ldmatrix need.
        ArrayView<Chunk16> chunks = SharedMemory.GetDynamic<Chunk16>();
        ArrayView<ushort> shared = chunks.Cast<ushort>();
        uint sharedBase = MmaPtx.SharedBase();
        int thread = Group.IdxX, warp = thread >> 5, lane = thread & 31;
        // The emulation's register exchange, past the stages (requested off CUDA only; see MmaPtx.ScratchWordsPerWarp).
        var scratch = new Scratch(chunks.Cast<uint>(), p.Stages * StageBytes / 4 + warp * MmaPtx.ScratchWordsPerWarp);
        int warpRow = (warp >> 2) * WarpTileM, warpCol = (warp & 3) * WarpTileN;
        int m0 = Grid.IdxY * TileM, n0 = Grid.IdxX * TileN;
        int kTiles = (p.K + TileK - 1) / TileK;
        bool kContiguousA = p.TransA == 0, kContiguousB = p.TransB != 0;
        for (int batch = Grid.IdxZ; batch < p.Batch; batch += Grid.DimZ)
        {
            long offsetA = batch * p.StrideA, offsetB = batch * p.StrideB, offsetC = batch * p.StrideC;
            var acc = new WarpTile();
            for (int s = 0; s < p.Stages - 1; s++)
            {
                if (s < kTiles)
                    LoadStage(shared, sharedBase, s * StageBytes, a, b, p, offsetA, offsetB, m0, n0, s * TileK, thread);
                MmaPtx.CommitGroup();
            }
            for (int kt = 0; kt < kTiles; kt++)
            {
                MmaPtx.WaitGroup(p.Stages - 2);
                Group.Barrier();
                int next = kt + p.Stages - 1;
                if (next < kTiles)
                {
                    LoadStage(shared, sharedBase, next % p.Stages * StageBytes, a, b, p, offsetA, offsetB, m0, n0,
                        next * TileK, thread);
                }
                MmaPtx.CommitGroup();
                int stage = kt % p.Stages * StageBytes;
                for (int ks = 0; ks < TileK; ks += 16)
                    MmaStep(ref acc, shared, sharedBase, scratch, stage, ks, kContiguousA, kContiguousB, warpRow, warpCol, lane);
            }
            StoreWarpTile<TC, TCElement>(c, p, offsetC, m0 + warpRow, n0 + warpCol, ref acc, lane);
            // Nothing is in flight (the last commits were empty); the barrier keeps the next batch entry's loads from
            // overwriting a stage another warp is still reading.
            MmaPtx.WaitGroup(0);
            Group.Barrier();
        }
    }

    /// <summary>The unit of the tensor-core kernel's dynamic shared memory: launch with RequestDynamic&lt;Chunk16&gt;(bytes / 16).</summary>
    public struct Chunk16
    {
        public uint X, Y, Z, W;
    }

    /// <summary>Where this warp's emulation scratch is: <see cref="MmaPtx.ScratchWordsPerWarp"/> words of shared memory.</summary>
    public readonly struct Scratch(ArrayView<uint> words, int start)
    {
        public readonly ArrayView<uint> Words = words;
        public readonly int Start = start;
    }

    /// <summary>The 16 accumulator fragments of a warp's 64×32 tile: T{mi}{ni} is the m16n8 tile at (16·mi, 8·ni).</summary>
    public struct WarpTile
    {
        public Acc4 T00, T01, T02, T03, T10, T11, T12, T13, T20, T21, T22, T23, T30, T31, T32, T33;
    }

    /// <summary>Byte offset of 16-byte chunk <paramref name="chunk"/> of row <paramref name="row"/> in a k-contiguous tile (64-byte rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int KContiguousOffset(int row, int chunk) => row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4);

    /// <summary>Byte offset of 16-byte chunk <paramref name="chunk"/> of k-row <paramref name="row"/> in an m/n-contiguous tile (256-byte rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MnContiguousOffset(int row, int chunk) => row * 256 + ((chunk ^ (row & 7)) << 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void LoadStage(ArrayView<ushort> shared, uint sharedBase, int stage, ArrayView<ushort> a, ArrayView<ushort> b,
        GemmGpuParams p, long offsetA, long offsetB, int m0, int n0, int k0, int thread)
    {
        LoadOperandTile(shared, sharedBase, stage, a, p.AddressA, offsetA, p.Lda, p.TransA == 0, m0, p.M, k0, p.K,
            p.VectorA != 0, thread);
        LoadOperandTile(shared, sharedBase, stage + OperandTileBytes, b, p.AddressB, offsetB, p.Ldb, p.TransB != 0, n0, p.N,
            k0, p.K, p.VectorB != 0, thread);
    }

    /// <summary>
    /// One operand's 128×32 tile (rows <paramref name="origin"/>.. of M or N, k from <paramref name="k0"/>) as 512
    /// chunks of 8 bf16, two per thread; each chunk carries how many of its elements lie inside the operand.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void LoadOperandTile(ArrayView<ushort> shared, uint sharedBase, int tile, ArrayView<ushort> source,
        long address, long offset, int ld, bool kContiguous, int origin, int extent, int k0, int k, bool vector, int thread)
    {
        for (int q = thread; q < ChunksPerOperandTile; q += TensorCoreGroupSize)
        {
            var chunk = ChunkAt(q, offset, ld, kContiguous, origin, extent, k0, k);
            if (vector) MmaPtx.CopyAsync16(shared, sharedBase, tile + chunk.ByteOffset, source, address, chunk.Index, chunk.Valid);
            else MmaPtx.CopyGuarded16(shared, tile + chunk.ByteOffset, source, chunk.Index, chunk.Valid);
        }
    }

    public const int ChunksPerOperandTile = OperandTileBytes / 16;

    /// <summary>Where 16-byte chunk q of an operand tile comes from (element index, elements inside the operand) and goes to.</summary>
    public struct TileChunk
    {
        public long Index;
        public int Valid, ByteOffset;
    }

    /// <summary>
    /// Chunk q of a tile: in a k-contiguous tile, row q/4 (of M or N) and k 8·(q%4); in an m/n-contiguous one, k-row
    /// q/16 and 8·(q%16) along M or N. Consecutive q walk a stored row, so 8 threads read 128 contiguous bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TileChunk ChunkAt(int q, long offset, int ld, bool kContiguous, int origin, int extent, int k0, int k)
    {
        int row, column;
        var chunk = new TileChunk();
        if (kContiguous)
        {
            int r = q >> 2, c = q & 3;
            row = origin + r;
            column = k0 + c * 8;
            chunk.Valid = row < extent ? ClampChunk(k - column) : 0;
            chunk.ByteOffset = KContiguousOffset(r, c);
        }
        else
        {
            int r = q >> 4, c = q & 15;
            row = k0 + r;
            column = origin + c * 8;
            chunk.Valid = row < k ? ClampChunk(extent - column) : 0;
            chunk.ByteOffset = MnContiguousOffset(r, c);
        }
        chunk.Index = offset + (long)row * ld + column;
        return chunk;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int ClampChunk(int remaining) => remaining <= 0 ? 0 : remaining >= 8 ? 8 : remaining;

    /// <summary>One k16 step of a warp: 4 A fragments, 2 × 2 B fragments, 16 MMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void MmaStep(ref WarpTile acc, ArrayView<ushort> shared, uint sharedBase, Scratch scratch, int stage, int ks,
        bool kContiguousA, bool kContiguousB, int warpRow, int warpCol, int lane)
    {
        int matrix = lane >> 3, row = lane & 7;
        Frag4 a0 = LoadFragmentA(shared, sharedBase, scratch, stage, kContiguousA, warpRow, ks, matrix, row);
        Frag4 a1 = LoadFragmentA(shared, sharedBase, scratch, stage, kContiguousA, warpRow + 16, ks, matrix, row);
        Frag4 a2 = LoadFragmentA(shared, sharedBase, scratch, stage, kContiguousA, warpRow + 32, ks, matrix, row);
        Frag4 a3 = LoadFragmentA(shared, sharedBase, scratch, stage, kContiguousA, warpRow + 48, ks, matrix, row);
        int tileB = stage + OperandTileBytes;
        Frag4 b01 = LoadFragmentsB(shared, sharedBase, scratch, tileB, kContiguousB, warpCol, ks, matrix, row);
        Frag4 b23 = LoadFragmentsB(shared, sharedBase, scratch, tileB, kContiguousB, warpCol + 16, ks, matrix, row);

        MmaPtx.MmaBf16(ref acc.T00, a0, b01.R0, b01.R1, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T01, a0, b01.R2, b01.R3, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T02, a0, b23.R0, b23.R1, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T03, a0, b23.R2, b23.R3, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T10, a1, b01.R0, b01.R1, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T11, a1, b01.R2, b01.R3, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T12, a1, b23.R0, b23.R1, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T13, a1, b23.R2, b23.R3, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T20, a2, b01.R0, b01.R1, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T21, a2, b01.R2, b01.R3, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T22, a2, b23.R0, b23.R1, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T23, a2, b23.R2, b23.R3, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T30, a3, b01.R0, b01.R1, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T31, a3, b01.R2, b01.R3, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T32, a3, b23.R0, b23.R1, scratch.Words, scratch.Start);
        MmaPtx.MmaBf16(ref acc.T33, a3, b23.R2, b23.R3, scratch.Words, scratch.Start);
    }

    /// <summary>
    /// The A fragment of the m16 rows from <paramref name="rowBase"/> (tile-relative), k from <paramref name="kBase"/>:
    /// lane 8j+i points at row i of matrix j = (rows 8(j%2), k 8(j/2)).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Frag4 LoadFragmentA(ArrayView<ushort> shared, uint sharedBase, Scratch scratch, int tile, bool kContiguous, int rowBase,
        int kBase, int matrix, int row)
    {
        if (kContiguous)
        {
            int r = rowBase + row + 8 * (matrix & 1), chunk = (kBase >> 3) + (matrix >> 1);
            return MmaPtx.LdmatrixX4(shared, sharedBase, tile + KContiguousOffset(r, chunk), scratch.Words, scratch.Start);
        }
        int kRow = kBase + row + 8 * (matrix >> 1), mChunk = (rowBase >> 3) + (matrix & 1);
        return MmaPtx.LdmatrixX4Trans(shared, sharedBase, tile + MnContiguousOffset(kRow, mChunk), scratch.Words, scratch.Start);
    }

    /// <summary>
    /// The B fragments of the two n8 tiles from <paramref name="colBase"/>: matrix j = (n 8(j/2), k 8(j%2)), so R0, R1
    /// are b0, b1 of the first tile and R2, R3 of the second.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Frag4 LoadFragmentsB(ArrayView<ushort> shared, uint sharedBase, Scratch scratch, int tile, bool kContiguous, int colBase,
        int kBase, int matrix, int row)
    {
        if (kContiguous)
        {
            int n = colBase + row + 8 * (matrix >> 1), chunk = (kBase >> 3) + (matrix & 1);
            return MmaPtx.LdmatrixX4(shared, sharedBase, tile + KContiguousOffset(n, chunk), scratch.Words, scratch.Start);
        }
        int kRow = kBase + row + 8 * (matrix & 1), nChunk = (colBase >> 3) + (matrix >> 1);
        return MmaPtx.LdmatrixX4Trans(shared, sharedBase, tile + MnContiguousOffset(kRow, nChunk), scratch.Words, scratch.Start);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreWarpTile<TC, TCElement>(ArrayView<TC> c, GemmGpuParams p, long offsetC, int row, int col,
        ref WarpTile acc, int lane)
        where TC : unmanaged where TCElement : struct, IGpuElement<TC>
    {
        int r = row + (lane >> 2), cc = col + 2 * (lane & 3);
        StoreFragment<TC, TCElement>(c, p, offsetC, r, cc, acc.T00);
        StoreFragment<TC, TCElement>(c, p, offsetC, r, cc + 8, acc.T01);
        StoreFragment<TC, TCElement>(c, p, offsetC, r, cc + 16, acc.T02);
        StoreFragment<TC, TCElement>(c, p, offsetC, r, cc + 24, acc.T03);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 16, cc, acc.T10);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 16, cc + 8, acc.T11);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 16, cc + 16, acc.T12);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 16, cc + 24, acc.T13);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 32, cc, acc.T20);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 32, cc + 8, acc.T21);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 32, cc + 16, acc.T22);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 32, cc + 24, acc.T23);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 48, cc, acc.T30);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 48, cc + 8, acc.T31);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 48, cc + 16, acc.T32);
        StoreFragment<TC, TCElement>(c, p, offsetC, r + 48, cc + 24, acc.T33);
    }

    /// <summary>A lane's four results of one m16n8 tile: (row, col), (row, col+1), (row+8, col), (row+8, col+1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreFragment<TC, TCElement>(ArrayView<TC> c, GemmGpuParams p, long offsetC, int row, int col, Acc4 v)
        where TC : unmanaged where TCElement : struct, IGpuElement<TC>
    {
        StoreElement<TC, TCElement>(c, p, offsetC, row, col, v.C0);
        StoreElement<TC, TCElement>(c, p, offsetC, row, col + 1, v.C1);
        StoreElement<TC, TCElement>(c, p, offsetC, row + 8, col, v.C2);
        StoreElement<TC, TCElement>(c, p, offsetC, row + 8, col + 1, v.C3);
    }

    /// <summary>C[row, col] = alpha·sum + beta·C[row, col] inside the matrix; beta = 0 does not read C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreElement<TC, TCElement>(ArrayView<TC> c, GemmGpuParams p, long offsetC, int row, int col, float sum)
        where TC : unmanaged where TCElement : struct, IGpuElement<TC>
    {
        if (row >= p.M || col >= p.N) return;
        long index = offsetC + (long)row * p.Ldc + col;
        float value = p.Alpha * sum;
        if (p.Beta != 0f) value += p.Beta * default(TCElement).Widen(c[index]);
        c[index] = default(TCElement).Narrow(value);
    }
}

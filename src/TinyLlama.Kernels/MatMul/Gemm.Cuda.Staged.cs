using System.Runtime.CompilerServices;
using ILGPU;

namespace TinyLlama.Kernels;

public static partial class GemmKernels
{
    /// <summary>Shared memory of the register-staged kernel: two stages (32 KB).</summary>
    public const int RegisterStagedStages = 2;

    /// <summary>
    /// The tensor-core kernel of <see cref="TensorCore{TC, TCElement}"/> (same grid, warps, tiles, swizzled layouts,
    /// ldmatrix, MMAs, edges and epilogue) with a different way of filling shared memory: no cp.async. Each thread
    /// loads its four 16-byte chunks of tile kt+1 from global memory into registers (16 words) before the warp
    /// computes tile kt, and stores them to the other of two shared stages after; one barrier per tile.
    /// <para>Why it exists: ILGPU routes every inline-PTX output (mma, ldmatrix) through a 4-byte <c>.local</c> slot
    /// and relies on ptxas to promote those slots back to registers. CUDA 11.8's ptxas does that for this kernel, but
    /// not for the cp.async kernel: with any cp.async in the function it keeps all the slots (888 bytes of stack
    /// frame, loads and stores to local memory around every MMA). Which of the two is faster on an H100, where the
    /// driver's own JIT assembles the PTX, is the first measurement to make there.</para>
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void TensorCoreRegisterStaged<TC, TCElement>(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<TC> c,
        GemmGpuParams p)
        where TC : unmanaged where TCElement : struct, IGpuElement<TC>
    {
        ArrayView<Chunk16> chunks = SharedMemory.GetDynamic<Chunk16>();
        ArrayView<ushort> shared = chunks.Cast<ushort>();
        uint sharedBase = MmaPtx.SharedBase();
        int thread = Group.IdxX, warp = thread >> 5, lane = thread & 31;
        var scratch = new Scratch(chunks.Cast<uint>(),
            RegisterStagedStages * StageBytes / 4 + warp * MmaPtx.ScratchWordsPerWarp);
        int warpRow = (warp >> 2) * WarpTileM, warpCol = (warp & 3) * WarpTileN;
        int m0 = Grid.IdxY * TileM, n0 = Grid.IdxX * TileN;
        int kTiles = (p.K + TileK - 1) / TileK;
        bool kContiguousA = p.TransA == 0, kContiguousB = p.TransB != 0;
        for (int batch = Grid.IdxZ; batch < p.Batch; batch += Grid.DimZ)
        {
            long offsetA = batch * p.StrideA, offsetB = batch * p.StrideB, offsetC = batch * p.StrideC;
            var acc = new WarpTile();
            if (kTiles > 0)
            {
                StagedChunks first = FetchStage(a, b, p, offsetA, offsetB, m0, n0, 0, thread);
                StoreStage(chunks, 0, first, p, thread);
            }
            for (int kt = 0; kt < kTiles; kt++)
            {
                // Stage kt%2 is complete and visible; every warp is done reading stage (kt+1)%2 (tile kt−1).
                Group.Barrier();
                bool more = kt + 1 < kTiles;
                var next = new StagedChunks();
                if (more) next = FetchStage(a, b, p, offsetA, offsetB, m0, n0, (kt + 1) * TileK, thread);
                int stage = kt % RegisterStagedStages * StageBytes;
                MmaStep(ref acc, shared, sharedBase, scratch, stage, 0, kContiguousA, kContiguousB, warpRow, warpCol, lane);
                MmaStep(ref acc, shared, sharedBase, scratch, stage, 16, kContiguousA, kContiguousB, warpRow, warpCol, lane);
                if (more) StoreStage(chunks, (kt + 1) % RegisterStagedStages * StageBytes, next, p, thread);
            }
            StoreWarpTile<TC, TCElement>(c, p, offsetC, m0 + warpRow, n0 + warpCol, ref acc, lane);
            Group.Barrier();
        }
    }

    /// <summary>A thread's share of one stage in registers: chunks q = thread and thread + 256 of A, then of B.</summary>
    public struct StagedChunks
    {
        public Chunk16 A0, A1, B0, B1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static StagedChunks FetchStage(ArrayView<ushort> a, ArrayView<ushort> b, GemmGpuParams p, long offsetA, long offsetB,
        int m0, int n0, int k0, int thread)
    {
        bool kContiguousA = p.TransA == 0, kContiguousB = p.TransB != 0;
        return new StagedChunks
        {
            A0 = FetchChunk(a, ChunkAt(thread, offsetA, p.Lda, kContiguousA, m0, p.M, k0, p.K), p.VectorA != 0),
            A1 = FetchChunk(a, ChunkAt(thread + TensorCoreGroupSize, offsetA, p.Lda, kContiguousA, m0, p.M, k0, p.K), p.VectorA != 0),
            B0 = FetchChunk(b, ChunkAt(thread, offsetB, p.Ldb, kContiguousB, n0, p.N, k0, p.K), p.VectorB != 0),
            B1 = FetchChunk(b, ChunkAt(thread + TensorCoreGroupSize, offsetB, p.Ldb, kContiguousB, n0, p.N, k0, p.K), p.VectorB != 0),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreStage(ArrayView<Chunk16> chunks, int stage, StagedChunks staged, GemmGpuParams p, int thread)
    {
        bool kContiguousA = p.TransA == 0, kContiguousB = p.TransB != 0;
        int tileB = stage + OperandTileBytes;
        chunks[(stage + SharedOffsetOf(thread, kContiguousA)) >> 4] = staged.A0;
        chunks[(stage + SharedOffsetOf(thread + TensorCoreGroupSize, kContiguousA)) >> 4] = staged.A1;
        chunks[(tileB + SharedOffsetOf(thread, kContiguousB)) >> 4] = staged.B0;
        chunks[(tileB + SharedOffsetOf(thread + TensorCoreGroupSize, kContiguousB)) >> 4] = staged.B1;
    }

    /// <summary>The swizzled byte offset of chunk q in its tile (the shared half of <see cref="ChunkAt"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int SharedOffsetOf(int q, bool kContiguous) =>
        kContiguous ? KContiguousOffset(q >> 2, q & 3) : MnContiguousOffset(q >> 4, q & 15);

    /// <summary>
    /// 16 bytes of an operand: one 16-byte load where the chunk is whole and the operand aligned, else element by
    /// element with zeros past the edge.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Chunk16 FetchChunk(ArrayView<ushort> source, TileChunk chunk, bool vector)
    {
        if (vector && chunk.Valid == 8) return source.Cast<Chunk16>()[chunk.Index >> 3];
        return new Chunk16
        {
            X = MmaPtx.Pack(Element(source, chunk, 0), Element(source, chunk, 1)),
            Y = MmaPtx.Pack(Element(source, chunk, 2), Element(source, chunk, 3)),
            Z = MmaPtx.Pack(Element(source, chunk, 4), Element(source, chunk, 5)),
            W = MmaPtx.Pack(Element(source, chunk, 6), Element(source, chunk, 7)),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ushort Element(ArrayView<ushort> source, TileChunk chunk, int e) =>
        e < chunk.Valid ? source[chunk.Index + e] : (ushort)0;
}

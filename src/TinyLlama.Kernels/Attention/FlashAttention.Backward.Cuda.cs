using ILGPU;
using ILGPU.Algorithms;

namespace TinyLlama.Kernels;

/// <summary>
/// FlashAttention-2 backward, three kernels (launched in order by <see cref="FlashAttentionGpu.Backward(ILGPU.Runtime.AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int, int, int, int, float)"/>):
///
/// 1. <see cref="BackwardPrepare{T, TElement}"/>: D_i = Σ_d dO_id·O_id per query row (f32), and zero the f32 dQ
///    accumulator. D_i equals Σ_j P_ij·dP_ij, the term the softmax backward subtracts, at the cost of one dot product
///    per row instead of a pass over the keys.
/// 2. <see cref="Backward{T, TElement, TShape}"/>: one group per (key tile of Bc rows, kv head g, batch b). K_j and V_j
///    stay in shared memory; dK_j and dV_j stay in registers (16 + 16 per lane, layout in <see cref="IFlashShape"/>)
///    across every query head of the group g·(H/KvH) … (g+1)·(H/KvH)−1 and every query tile i with rows ≥ the
///    tile's first key (causal), so the GQA sum over query heads happens in registers, in a fixed order:
///    dK and dV are deterministic and no K/V repeat exists anywhere. Per query tile it recomputes
///      Sᵀ = K_j·Q_iᵀ,  Pᵀ = exp(scale·Sᵀ − LSE_i) (masked to 0 above the diagonal),  dPᵀ = V_j·dO_iᵀ,
///      dSᵀ = Pᵀ ∘ (dPᵀ − D_i),  dV_j += Pᵀ·dO_i,  dK_j += dSᵀ·Q_i,  dQ_i += dS·K_j
///    with Pᵀ and dSᵀ passed through shared memory. dQ_i gets contributions from every key tile, i.e. from other
///    groups: it is accumulated with f32 atomic adds into the f32 accumulator (as FlashAttention-2 does), so dQ is
///    exact up to the order of f32 additions, which can vary from run to run in the last bits.
///    dK is scaled by `scale` once at the end.
/// 3. <see cref="BackwardFinishDq{T, TElement}"/>: dq = narrow(scale · accumulator).
/// </summary>
public static partial class FlashAttentionKernels
{
    const float Log2E = 1.4426950408889634f;

    /// <summary>
    /// delta[row] = Σ_d dOutput[row, d]·output[row, d]; dqAccumulator[row, :] = 0. One warp per row, a grid-stride loop
    /// over the rows (B·H·T of them).
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void BackwardPrepare<T, TElement>(ArrayView<T> output, ArrayView<T> dOutput, ArrayView<float> delta,
        ArrayView<float> dqAccumulator, int rows, int headSize)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var e = default(TElement);
        int lane = Warp.LaneIdx;
        int warpsPerGroup = Group.DimX / Warp.WarpSize;
        int warp = Grid.IdxX * warpsPerGroup + Group.IdxX / Warp.WarpSize;
        int warps = Grid.DimX * warpsPerGroup;
        for (int r = warp; r < rows; r += warps)
        {
            long rowBase = (long)r * headSize;
            float sum = 0f;
            for (int d = lane; d < headSize; d += Warp.WarpSize)
            {
                sum += e.Widen(dOutput[rowBase + d]) * e.Widen(output[rowBase + d]);
                dqAccumulator[rowBase + d] = 0f;
            }
            for (int offset = Warp.WarpSize / 2; offset > 0; offset >>= 1)
                sum += Warp.ShuffleXor(sum, offset);
            if (lane == 0) delta[r] = sum;
        }
    }

    /// <summary>dq[x] = narrow(scale · dqAccumulator[x]), grid-stride.</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void BackwardFinishDq<T, TElement>(ArrayView<float> dqAccumulator, ArrayView<T> dq, float scale)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var e = default(TElement);
        long step = (long)Grid.DimX * Group.DimX;
        for (long x = Grid.GlobalIndex.X; x < dq.Length; x += step)
            dq[x] = e.Narrow(scale * dqAccumulator[x]);
    }

    [GpuKernel(typeof(float), typeof(F32Element), typeof(FlashHead16))]
    [GpuKernel(typeof(float), typeof(F32Element), typeof(FlashHead64))]
    [GpuKernel(typeof(float), typeof(F32Element), typeof(FlashHead128))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(FlashHead16))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(FlashHead64))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(FlashHead128))]
    public static void Backward<T, TElement, TShape>(
        ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> dOutput, ArrayView<float> lse, ArrayView<float> delta,
        ArrayView<float> dqAccumulator, ArrayView<T> dk, ArrayView<T> dv, FlashDims dims)
        where T : unmanaged where TElement : struct, IGpuElement<T> where TShape : struct, IFlashShape
    {
        var shape = default(TShape);
        int hs = shape.HeadSize, rowThreads = shape.RowThreads, bc = shape.BackwardKeyRows;
        int cols = shape.BackwardColsPerThread, br = FlashShape.BackwardQueryRows<TShape>();
        int groupSize = FlashShape.BackwardGroupSize<TShape>();
        int stride = hs + 1, pStride = br + 1;

        var kTile = SharedMemory.Allocate<float>(default(TShape).BackwardKeyRows * (default(TShape).HeadSize + 1));           // (Bc, Hs+1)
        var vTile = SharedMemory.Allocate<float>(default(TShape).BackwardKeyRows * (default(TShape).HeadSize + 1));           // (Bc, Hs+1)
        var qTile = SharedMemory.Allocate<float>(FlashShape.BackwardQueryRows<TShape>() * (default(TShape).HeadSize + 1));    // (Br, Hs+1)
        var doTile = SharedMemory.Allocate<float>(FlashShape.BackwardQueryRows<TShape>() * (default(TShape).HeadSize + 1));   // (Br, Hs+1)
        var pTile = SharedMemory.Allocate<float>(default(TShape).BackwardKeyRows * (FlashShape.BackwardQueryRows<TShape>() + 1));  // Pᵀ (Bc, Br+1)
        var dsTile = SharedMemory.Allocate<float>(default(TShape).BackwardKeyRows * (FlashShape.BackwardQueryRows<TShape>() + 1)); // dSᵀ (Bc, Br+1)
        var lseTile = SharedMemory.Allocate<float>(FlashShape.BackwardQueryRows<TShape>());   // (Br) LSE·log₂e
        var deltaTile = SharedMemory.Allocate<float>(FlashShape.BackwardQueryRows<TShape>()); // (Br) D

        int t = dims.SeqLen, g = Grid.IdxY, b = Grid.IdxZ;
        int kStart = Grid.IdxX * bc;
        int queryGroup = dims.Heads / dims.KvHeads;
        long kvBase = ((long)b * dims.KvHeads + g) * t * hs; // (B, KvH, T, Hs)

        int tid = Group.IdxX;
        int row = tid / rowThreads, tx = tid % rowThreads;
        int j = kStart + row;

        LoadTile<T, TElement>(k, kvBase, kStart, t, hs, bc, kTile, tid, groupSize);
        LoadTile<T, TElement>(v, kvBase, kStart, t, hs, bc, vTile, tid, groupSize);

        var dkAcc = default(FlashAcc16);
        var dvAcc = default(FlashAcc16);
        dkAcc.Clear();
        dvAcc.Clear();
        int firstQueryTile = kStart / br, queryTiles = (t + br - 1) / br;
        for (int hh = 0; hh < queryGroup; hh++)
        {
            int h = g * queryGroup + hh;
            long qBase = ((long)b * dims.Heads + h) * t * hs; // (B, H, T, Hs)
            long rowStatBase = ((long)b * dims.Heads + h) * t; // (B, H, T)
            for (int qt = firstQueryTile; qt < queryTiles; qt++)
            {
                int qStart = qt * br;
                Group.Barrier(); // the previous tile's Q, dO, Pᵀ, dSᵀ are consumed (and K, V are loaded)
                LoadTile<T, TElement>(q, qBase, qStart, t, hs, br, qTile, tid, groupSize);
                LoadTile<T, TElement>(dOutput, qBase, qStart, t, hs, br, doTile, tid, groupSize);
                for (int x = tid; x < br; x += groupSize)
                {
                    bool live = qStart + x < t;
                    lseTile[x] = live ? Log2E * lse[rowStatBase + qStart + x] : float.PositiveInfinity; // P = 0 on padding rows
                    deltaTile[x] = live ? delta[rowStatBase + qStart + x] : 0f;
                }
                Group.Barrier();

                var s = default(FlashRow8);
                var dp = default(FlashRow8);
                s.Clear();
                dp.Clear();
                int kRow = row * stride, qCol = tx * stride, colStep = rowThreads * stride;
                for (int d = 0; d < hs; d++)
                {
                    s.Fma(kTile[kRow + d], qTile, qCol + d, colStep, cols);
                    dp.Fma(vTile[kRow + d], doTile, qCol + d, colStep, cols);
                }
                // Query column i_u = tx + rowThreads·u of the tile is causal for key j when qStart + i_u ≥ j.
                s.ProbsAndScores(ref dp, lseTile, deltaTile, dims.ScaleLog2, tx, rowThreads, j - qStart, cols);
                s.Store(pTile, row * pStride + tx, rowThreads, cols);
                dp.Store(dsTile, row * pStride + tx, rowThreads, cols);
                Group.Barrier();

                int pRow = row * pStride;
                for (int c = 0; c < br; c++)
                {
                    dvAcc.Fma(pTile[pRow + c], doTile, c * stride + tx, rowThreads);
                    dkAcc.Fma(dsTile[pRow + c], qTile, c * stride + tx, rowThreads);
                }

                // dQ_i[d] += Σ_j dS_ij·K_j[d] for the Br×Hs elements of the tile; consecutive lanes take consecutive d.
                for (int x = tid; x < br * hs; x += groupSize)
                {
                    int r = x / hs, d = x % hs;
                    if (qStart + r < t)
                    {
                        float sum = 0f;
                        for (int c = 0; c < bc; c++)
                            sum += dsTile[c * pStride + r] * kTile[c * stride + d];
                        Atomic.Add(ref dqAccumulator[qBase + (long)(qStart + r) * hs + d], sum);
                    }
                }
            }
        }

        if (j < t)
        {
            long at = kvBase + (long)j * hs + tx;
            dkAcc.Store<T, TElement>(dk, at, rowThreads, dims.Scale);
            dvAcc.Store<T, TElement>(dv, at, rowThreads, 1f);
        }
    }
}

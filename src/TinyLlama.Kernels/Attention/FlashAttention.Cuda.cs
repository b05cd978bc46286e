using ILGPU;
using ILGPU.Algorithms;

namespace TinyLlama.Kernels;

/// <summary>
/// FlashAttention-2 on the GPU: causal, grouped-query scaled-dot-product attention that never forms the T×T score
/// matrix in memory (docs/flash-attention.md explains it from the ground up). Layouts as <see cref="Attention"/>:
/// q, output: (B, H, T, Hs); k, v: (B, KvH, T, Hs); query head h reads kv head h / (H / KvH), never a copy.
/// lse: (B, H, T) f32, the natural log-sum-exp of each row of scale·q·kᵀ (masked), saved for backward.
/// Storage is f32 or bf16 (<see cref="IGpuElement{T}"/>); all arithmetic and statistics are f32.
///
/// Forward, one group per (query tile of Br rows, head h, batch b). With scores in base 2,
/// s_ij = scale·log₂e·q_i·k_j, the online softmax over key tiles j = 0, 1, … up to the diagonal keeps per row
///   m ← max(m, max_j s_ij),   α = 2^(m_old − m),   l ← α·l + Σ_j 2^(s_ij − m),   o ← α·o + Σ_j 2^(s_ij − m)·v_j
/// (m starts at −∞, l and o at 0), and at the end writes out_i = o/l and LSE_i = ln 2·(m + log₂ l).
/// After every tile, o/l is the exact softmax-weighted mean of the values seen so far, so the result is exact
/// attention; only the order of additions differs from the reference.
///
/// Per key tile (Bc rows): barrier, load K_j into shared memory, barrier; each lane computes its Bc/RowThreads
/// scores of its query row (<see cref="IFlashShape"/> gives the layout); row max by ShuffleXor over the row's lanes;
/// write P = 2^(s − m) to shared memory; barrier; load V_j over K_j; barrier; o_u += Σ_c P_c·V[c, d_u]. The partial
/// row sums l stay per lane (α is the same for the whole row) and are reduced once at the end.
/// Causality: key tiles past the query tile's last row are never visited; only tiles that cross the diagonal apply
/// the mask (key column > query row ⇒ −∞). Rows and key columns past T are padded with zeros and never written.
/// </summary>
public static partial class FlashAttentionKernels
{
    const float Ln2 = 0.6931471805599453f;

    [GpuKernel(typeof(float), typeof(F32Element), typeof(FlashHead16))]
    [GpuKernel(typeof(float), typeof(F32Element), typeof(FlashHead64))]
    [GpuKernel(typeof(float), typeof(F32Element), typeof(FlashHead128))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(FlashHead16))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(FlashHead64))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(FlashHead128))]
    public static void Forward<T, TElement, TShape>(
        ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> output, ArrayView<float> lse, FlashDims dims)
        where T : unmanaged where TElement : struct, IGpuElement<T> where TShape : struct, IFlashShape
    {
        var shape = default(TShape);
        var e = default(TElement);
        int hs = shape.HeadSize, rowThreads = shape.RowThreads, br = shape.ForwardRows;
        int cols = shape.ForwardColsPerThread, bc = FlashShape.ForwardCols<TShape>();
        int groupSize = FlashShape.ForwardGroupSize<TShape>();
        int stride = hs + 1, pStride = bc + 1;

        var qTile = SharedMemory.Allocate<float>(default(TShape).ForwardRows * (default(TShape).HeadSize + 1));        // (Br, Hs+1)
        var kvTile = SharedMemory.Allocate<float>(FlashShape.ForwardCols<TShape>() * (default(TShape).HeadSize + 1));  // (Bc, Hs+1)
        var pTile = SharedMemory.Allocate<float>(default(TShape).ForwardRows * (FlashShape.ForwardCols<TShape>() + 1)); // (Br, Bc+1)

        int t = dims.SeqLen, h = Grid.IdxY, b = Grid.IdxZ;
        int qStart = Grid.IdxX * br;
        int kvHead = h / (dims.Heads / dims.KvHeads);
        long qBase = ((long)b * dims.Heads + h) * t * hs;          // (B, H, T, Hs)
        long kvBase = ((long)b * dims.KvHeads + kvHead) * t * hs;  // (B, KvH, T, Hs)

        int tid = Group.IdxX;
        int row = tid / rowThreads, tx = tid % rowThreads;
        int i = qStart + row;

        for (int x = tid; x < br * hs; x += groupSize)
        {
            int r = x / hs, c = x % hs;
            qTile[r * stride + c] = qStart + r < t ? e.Widen(q[qBase + (long)(qStart + r) * hs + c]) : 0f;
        }

        float m = float.NegativeInfinity, lPart = 0f;
        var o = default(FlashAcc16);
        o.Clear();
        int kvEnd = XMath.Min(t, qStart + br);
        int kvTiles = (kvEnd + bc - 1) / bc;
        for (int kt = 0; kt < kvTiles; kt++)
        {
            int kStart = kt * bc;
            Group.Barrier(); // the previous tile's V and P are consumed
            LoadTile<T, TElement>(k, kvBase, kStart, t, hs, bc, kvTile, tid, groupSize);
            Group.Barrier();

            var s = default(FlashRow8);
            s.Clear();
            int qRow = row * stride, kCol = tx * stride;
            for (int d = 0; d < hs; d++)
                s.Fma(qTile[qRow + d], kvTile, kCol + d, rowThreads * stride, cols);
            if (kStart + bc - 1 > qStart) s.ScaleAndMask(dims.ScaleLog2, kStart + tx, rowThreads, i, cols); // crosses the diagonal
            else s.Scale(dims.ScaleLog2, cols);

            float tileMax = s.Max(cols);
            for (int lane = rowThreads / 2; lane > 0; lane >>= 1)
                tileMax = XMath.Max(tileMax, Warp.ShuffleXor(tileMax, lane));
            float mNew = XMath.Max(m, tileMax); // finite: key 0 ≤ every query row, and tile 0 is always visited first
            float alpha = XMath.Exp2(m - mNew);
            lPart = lPart * alpha + s.Exp2Minus(mNew, cols);
            m = mNew;
            s.Store(pTile, row * pStride + tx, rowThreads, cols);
            o.Scale(alpha);

            Group.Barrier(); // every lane is done with K
            LoadTile<T, TElement>(v, kvBase, kStart, t, hs, bc, kvTile, tid, groupSize);
            Group.Barrier();
            int pRow = row * pStride;
            for (int c = 0; c < bc; c++)
                o.Fma(pTile[pRow + c], kvTile, c * stride + tx, rowThreads);
        }

        float l = lPart;
        for (int lane = rowThreads / 2; lane > 0; lane >>= 1)
            l += Warp.ShuffleXor(l, lane);
        if (i < t)
        {
            o.Store<T, TElement>(output, qBase + (long)i * hs + tx, rowThreads, 1f / l);
            if (tx == 0) lse[((long)b * dims.Heads + h) * t + i] = Ln2 * (m + XMath.Log2(l));
        }
    }

    /// <summary>tile[r·(Hs+1) + c] = widen(source[base + (start + r)·Hs + c]) for r &lt; rows, zero past T.</summary>
    static void LoadTile<T, TElement>(ArrayView<T> source, long sourceBase, int start, int t, int hs, int rows,
        ArrayView<float> tile, int tid, int groupSize)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var e = default(TElement);
        int stride = hs + 1;
        for (int x = tid; x < rows * hs; x += groupSize)
        {
            int r = x / hs, c = x % hs;
            tile[r * stride + c] = start + r < t ? e.Widen(source[sourceBase + (long)(start + r) * hs + c]) : 0f;
        }
    }
}

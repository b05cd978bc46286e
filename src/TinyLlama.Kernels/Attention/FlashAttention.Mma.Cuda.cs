using ILGPU;
using ILGPU.Algorithms;

namespace TinyLlama.Kernels;

/// <summary>Tile constants of the tensor-core forward (bf16, Hs = 64).</summary>
internal static class FlashMma
{
    public const int HeadSize = 64, Rows = 64, Cols = 64, GroupSize = 128;

    /// <summary>Words (bf16 pairs) per shared tile row: 32 and 4 of padding, so the 8 rows × 4 words a warp's B-fragment
    /// load touches (row g, word t) fall in 32 different banks: (36g + t) mod 32 = 4g + t.</summary>
    public const int TileStride = 36;
}

public static partial class FlashAttentionKernels
{
    /// <summary>
    /// The forward of <see cref="Forward{T, TElement, TShape}"/> for bf16 storage and Hs = 64 on tensor cores
    /// (mma.sync m16n8k16, bf16 operands, f32 accumulation; <see cref="FlashTensorCore"/>, emulated with shuffles off the GPU).
    /// Same math, same outputs (O, LSE), same grid (query tiles of 64 rows, H, B); 128 threads = 4 warps, warp w owns
    /// query rows 16w … 16w+15 of the tile and keeps them in registers as A fragments; key/value tiles are 64 rows.
    /// Per key tile: K_j (as bf16 pairs, row = key) and V_jᵀ (row = head column) go to shared memory; S = Q·K_jᵀ is 32
    /// mma per warp into eight m16n8 accumulator tiles (32 f32 per lane: rows g and g+8, columns 8n + 2t, +1); the
    /// online softmax runs on those registers, a row's statistics reduced over its 4 lanes (ShuffleXor 1, 2); P is
    /// rounded to bf16 and re-packed straight into A fragments (an m16n8 C fragment pair has the A layout), and
    /// O += P·V_j is 32 more mma into eight accumulator tiles. The row sums l use the f32 P, as FlashAttention-2 does.
    /// Shared memory: K and Vᵀ, 2 × 64 × 36 words = 18,432 B.
    /// </summary>
    [GpuKernel]
    public static void ForwardBf16Head64TensorCore(
        ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<ushort> output, ArrayView<float> lse, FlashDims dims)
    {
        var kTile = SharedMemory.Allocate<uint>(FlashMma.Cols * FlashMma.TileStride);  // (Bc keys, 32 + 4 words)
        var vTile = SharedMemory.Allocate<uint>(FlashMma.HeadSize * FlashMma.TileStride); // Vᵀ (Hs, Bc/2 + 4 words)
        var vHalves = vTile.Cast<ushort>();

        const int hs = FlashMma.HeadSize;
        int t = dims.SeqLen, h = Grid.IdxY, b = Grid.IdxZ;
        int qStart = Grid.IdxX * FlashMma.Rows;
        int kvHead = h / (dims.Heads / dims.KvHeads);
        long qBase = ((long)b * dims.Heads + h) * t * hs;         // (B, H, T, Hs)
        long kvBase = ((long)b * dims.KvHeads + kvHead) * t * hs; // (B, KvH, T, Hs)

        int tid = Group.IdxX, lane = Warp.LaneIdx, g = lane >> 2, tq = lane & 3;
        int rowLo = qStart + Warp.WarpIdx * 16 + g, rowHi = rowLo + 8;

        var qf = default(FlashQFragments16x64);
        qf.Load(q, qBase, rowLo, t, 2 * tq);

        float mLo = float.NegativeInfinity, mHi = float.NegativeInfinity, lLo = 0f, lHi = 0f;
        var o = default(FlashWarpTile16x64);
        var s = default(FlashWarpTile16x64);
        o.Clear();
        int kvEnd = XMath.Min(t, qStart + FlashMma.Rows);
        int kvTiles = (kvEnd + FlashMma.Cols - 1) / FlashMma.Cols;
        for (int kt = 0; kt < kvTiles; kt++)
        {
            int kStart = kt * FlashMma.Cols;
            Group.Barrier(); // the previous tile's K and Vᵀ are consumed
            for (int w = tid; w < FlashMma.Cols * (hs / 2); w += FlashMma.GroupSize)
            {
                int r = w / (hs / 2), c = w % (hs / 2), key = kStart + r;
                uint k2 = 0u;
                ushort v0 = 0, v1 = 0;
                if (key < t)
                {
                    long at = kvBase + (long)key * hs + 2 * c;
                    k2 = k[at] | ((uint)k[at + 1] << 16);
                    v0 = v[at];
                    v1 = v[at + 1];
                }
                kTile[r * FlashMma.TileStride + c] = k2;
                vHalves[2 * c * (2 * FlashMma.TileStride) + r] = v0;
                vHalves[(2 * c + 1) * (2 * FlashMma.TileStride) + r] = v1;
            }
            Group.Barrier();

            s.Clear();
            s.MmaRows(qf, kTile, g, tq);
            s.ScaleAndMask(dims.ScaleLog2, kStart + FlashMma.Cols - 1 > qStart, kStart + 2 * tq, rowLo);
            float maxLo = s.MaxLo(), maxHi = s.MaxHi();
            maxLo = XMath.Max(maxLo, Warp.ShuffleXor(maxLo, 1));
            maxHi = XMath.Max(maxHi, Warp.ShuffleXor(maxHi, 1));
            maxLo = XMath.Max(maxLo, Warp.ShuffleXor(maxLo, 2));
            maxHi = XMath.Max(maxHi, Warp.ShuffleXor(maxHi, 2));
            float newLo = XMath.Max(mLo, maxLo), newHi = XMath.Max(mHi, maxHi); // finite: tile 0 holds key 0
            float alphaLo = XMath.Exp2(mLo - newLo), alphaHi = XMath.Exp2(mHi - newHi);
            s.Exp2Minus(newLo, newHi, out float sumLo, out float sumHi);
            lLo = lLo * alphaLo + sumLo;
            lHi = lHi * alphaHi + sumHi;
            mLo = newLo;
            mHi = newHi;
            o.ScaleRows(alphaLo, alphaHi);
            o.MmaProbs(s, vTile, g, tq);
        }

        lLo += Warp.ShuffleXor(lLo, 1);
        lHi += Warp.ShuffleXor(lHi, 1);
        lLo += Warp.ShuffleXor(lLo, 2);
        lHi += Warp.ShuffleXor(lHi, 2);
        o.Store(output, qBase + (long)rowLo * hs, qBase + (long)rowHi * hs, rowLo < t, rowHi < t, 2 * tq, 1f / lLo, 1f / lHi);
        if (tq == 0)
        {
            long statBase = ((long)b * dims.Heads + h) * t;
            if (rowLo < t) lse[statBase + rowLo] = Ln2 * (mLo + XMath.Log2(lLo));
            if (rowHi < t) lse[statBase + rowHi] = Ln2 * (mHi + XMath.Log2(lHi));
        }
    }
}

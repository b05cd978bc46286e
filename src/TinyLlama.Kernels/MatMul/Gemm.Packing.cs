using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TinyLlama.Kernels;

public static partial class Gemm
{
    /// <summary>
    /// Packs op(A)[ic..ic+mc, pc..pc+kc] into MR-tall panels: panel r holds, for p = 0..kc-1, the MR values
    /// op(A)[ic + r·MR + 0..MR, pc + p] side by side (so the kernel broadcasts them one after another).
    /// Rows past mc are zero, which makes every panel full.
    /// </summary>
    private static unsafe void PackA<T>(T* dst, T* a, int lda, bool transA, int ic, int mc, int pc, int kc)
        where T : unmanaged
    {
        for (int r = 0; r < mc; r += MR)
        {
            int rows = Math.Min(MR, mc - r);
            T* panel = dst + (long)r * kc;
            if (transA)
            {
                // Stored (K, M): the MR values for one p are contiguous.
                T* src = a + (long)pc * lda + ic + r;
                for (int p = 0; p < kc; p++, src += lda, panel += MR)
                {
                    int i = 0;
                    for (; i < rows; i++) panel[i] = src[i];
                    for (; i < MR; i++) panel[i] = default;
                }
            }
            else if (rows == MR && typeof(T) == typeof(float) && Sse.IsSupported)
            {
                PackSixRowsFloat((float*)panel, (float*)(a + (long)(ic + r) * lda + pc), lda, kc);
            }
            else if (rows == MR)
            {
                // Stored (M, K): read the six rows side by side so the panel is written in order.
                T* r0 = a + (long)(ic + r) * lda + pc;
                T* r1 = r0 + lda, r2 = r1 + lda, r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda;
                for (int p = 0; p < kc; p++, panel += MR)
                {
                    panel[0] = r0[p];
                    panel[1] = r1[p];
                    panel[2] = r2[p];
                    panel[3] = r3[p];
                    panel[4] = r4[p];
                    panel[5] = r5[p];
                }
            }
            else
            {
                // A ragged last panel: walk each row along K and scatter with stride MR, zeros below.
                for (int i = 0; i < MR; i++)
                {
                    T* out_ = panel + i;
                    if (i < rows)
                    {
                        T* src = a + (long)(ic + r + i) * lda + pc;
                        for (int p = 0; p < kc; p++) out_[p * MR] = src[p];
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++) out_[p * MR] = default;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs op(B)[pc..pc+kc, jc..jc+nc] into nr-wide panels: panel s holds, for p = 0..kc-1, the nr values
    /// op(B)[pc + p, jc + s·nr + 0..nr] side by side (the kernel loads them as whole vectors).
    /// Columns past nc are zero.
    /// </summary>
    private static unsafe void PackB<T>(T* dst, T* b, int ldb, bool transB, int pc, int kc, int jc, int nc, int nr)
        where T : unmanaged
    {
        for (int s = 0; s < nc; s += nr)
        {
            int cols = Math.Min(nr, nc - s);
            T* panel = dst + (long)s * kc;
            if (!transB)
            {
                // Stored (K, N): one row segment per p, copied whole.
                T* src = b + (long)pc * ldb + jc + s;
                uint bytes = (uint)(cols * Unsafe.SizeOf<T>());
                for (int p = 0; p < kc; p++, src += ldb, panel += nr)
                {
                    Unsafe.CopyBlockUnaligned(panel, src, bytes);
                    for (int j = cols; j < nr; j++) panel[j] = default;
                }
            }
            else if (cols == nr && typeof(T) == typeof(float) && Sse.IsSupported)
            {
                PackSixteenRowsFloat((float*)panel, (float*)(b + (long)(jc + s) * ldb + pc), ldb, kc);
            }
            else
            {
                // Stored (N, K): walk each of the nr rows of Bᵀ along K and scatter with stride nr.
                for (int j = 0; j < nr; j++)
                {
                    T* out_ = panel + j;
                    if (j < cols)
                    {
                        T* src = b + (long)(jc + s + j) * ldb + pc;
                        for (int p = 0; p < kc; p++) out_[p * nr] = src[p];
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++) out_[p * nr] = default;
                    }
                }
            }
        }
    }

    /// <summary>
    /// A full float A panel from six rows stored along K: four k steps at a time, a 4×4 transpose puts rows
    /// 0–3 of each step side by side and an unpack pairs rows 4–5, so every store is in panel order.
    /// </summary>
    private static unsafe void PackSixRowsFloat(float* panel, float* row0, int lda, int kc)
    {
        float* row1 = row0 + lda, row2 = row1 + lda, row3 = row2 + lda, row4 = row3 + lda, row5 = row4 + lda;
        int p = 0;
        for (; p + 4 <= kc; p += 4, panel += 4 * MR)
        {
            var t0 = Sse.LoadVector128(row0 + p);
            var t1 = Sse.LoadVector128(row1 + p);
            var t2 = Sse.LoadVector128(row2 + p);
            var t3 = Sse.LoadVector128(row3 + p);
            Transpose4x4(ref t0, ref t1, ref t2, ref t3);
            var r4 = Sse.LoadVector128(row4 + p);
            var r5 = Sse.LoadVector128(row5 + p);
            var low = Sse.UnpackLow(r4, r5);   // (r4p0, r5p0, r4p1, r5p1)
            var high = Sse.UnpackHigh(r4, r5); // (r4p2, r5p2, r4p3, r5p3)
            Sse.Store(panel, t0);
            Sse.StoreLow(panel + 4, low);
            Sse.Store(panel + 6, t1);
            Sse.StoreHigh(panel + 10, low);
            Sse.Store(panel + 12, t2);
            Sse.StoreLow(panel + 16, high);
            Sse.Store(panel + 18, t3);
            Sse.StoreHigh(panel + 22, high);
        }
        for (; p < kc; p++, panel += MR)
        {
            panel[0] = row0[p];
            panel[1] = row1[p];
            panel[2] = row2[p];
            panel[3] = row3[p];
            panel[4] = row4[p];
            panel[5] = row5[p];
        }
    }

    /// <summary>A full float B panel from sixteen rows of Bᵀ stored along K, as four 4×4 transposes per four k steps.</summary>
    private static unsafe void PackSixteenRowsFloat(float* panel, float* row0, int ldb, int kc)
    {
        const int Width = 16;
        int p = 0;
        for (; p + 4 <= kc; p += 4, panel += 4 * Width)
        {
            for (int j = 0; j < Width; j += 4)
            {
                float* src = row0 + (long)j * ldb + p;
                var t0 = Sse.LoadVector128(src);
                var t1 = Sse.LoadVector128(src + ldb);
                var t2 = Sse.LoadVector128(src + 2 * ldb);
                var t3 = Sse.LoadVector128(src + 3 * ldb);
                Transpose4x4(ref t0, ref t1, ref t2, ref t3);
                Sse.Store(panel + j, t0);
                Sse.Store(panel + Width + j, t1);
                Sse.Store(panel + 2 * Width + j, t2);
                Sse.Store(panel + 3 * Width + j, t3);
            }
        }
        for (; p < kc; p++, panel += Width)
        {
            for (int j = 0; j < Width; j++) panel[j] = row0[(long)j * ldb + p];
        }
    }

    /// <summary>Rows (r0..r3) of four k values each become (k0..k3) of four row values each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(ref Vector128<float> r0, ref Vector128<float> r1, ref Vector128<float> r2, ref Vector128<float> r3)
    {
        var lo01 = Sse.UnpackLow(r0, r1);  // (r0k0, r1k0, r0k1, r1k1)
        var lo23 = Sse.UnpackLow(r2, r3);  // (r2k0, r3k0, r2k1, r3k1)
        var hi01 = Sse.UnpackHigh(r0, r1); // (r0k2, r1k2, r0k3, r1k3)
        var hi23 = Sse.UnpackHigh(r2, r3); // (r2k2, r3k2, r2k3, r3k3)
        r0 = Sse.MoveLowToHigh(lo01, lo23);
        r1 = Sse.MoveHighToLow(lo23, lo01);
        r2 = Sse.MoveLowToHigh(hi01, hi23);
        r3 = Sse.MoveHighToLow(hi23, hi01);
    }

    /// <summary>
    /// Per-thread packing buffers, kept for the thread's life so a GEMM allocates nothing once warm.
    /// The memory is native and 64-byte aligned (a cache line, and what aligned vector loads want);
    /// it is freed by a finalizer when the thread is gone and nothing refers to the holder.
    /// </summary>
    private sealed unsafe class PackBuffers
    {
        [ThreadStatic] private static PackBuffers? s_current;

        private readonly void*[] _blocks = new void*[2];
        private readonly nuint[] _bytes = new nuint[2];

        /// <summary>A buffer of at least <paramref name="count"/> elements in slot 0 (A) or 1 (B); contents undefined.</summary>
        public static T* Get<T>(int slot, long count) where T : unmanaged
        {
            var holder = s_current ??= new PackBuffers();
            nuint bytes = (nuint)(count * Unsafe.SizeOf<T>());
            if (holder._bytes[slot] < bytes)
            {
                NativeMemory.AlignedFree(holder._blocks[slot]);
                holder._blocks[slot] = null;
                holder._bytes[slot] = 0;
                holder._blocks[slot] = NativeMemory.AlignedAlloc(bytes, 64);
                holder._bytes[slot] = bytes;
            }
            return (T*)holder._blocks[slot];
        }

        ~PackBuffers()
        {
            foreach (void* block in _blocks) NativeMemory.AlignedFree(block);
        }
    }
}

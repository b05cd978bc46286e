using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

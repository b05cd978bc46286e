using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TinyLlama.Kernels;

public static partial class Gemm
{
    /// <summary>
    /// C[6×16] = alpha·(A panel · B panel) + beta·C (beta = 0: C is not read), over kc steps.
    /// The twelve accumulators are named locals so the JIT keeps them in ymm registers for the whole loop;
    /// the loop is unrolled four times by hand to spread the pointer bumps and the branch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MicroKernelAvx2(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;

        // Ask for the C tile now: it is needed only after the k loop, and a tile row of a large C is
        // usually not in cache (each tile is visited once per KC block), so the miss overlaps the FMAs.
        for (int i = 0; i < 6; i++)
        {
            Sse.Prefetch0(c + i * ldc);
            Sse.Prefetch0(c + i * ldc + 15);
        }
        // Counting down to zero leaves one decrement-and-branch per four steps.
        for (int quads = kc >> 2; quads != 0; quads--)
        {
            Step(a, b, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            Step(a + 6, b + 16, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            Step(a + 12, b + 32, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            Step(a + 18, b + 48, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a += 24;
            b += 64;
        }
        for (int rest = kc & 3; rest != 0; rest--)
        {
            Step(a, b, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a += 6;
            b += 16;
        }

        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Store(c, va, c00, c01);
            Store(c + ldc, va, c10, c11);
            Store(c + 2 * ldc, va, c20, c21);
            Store(c + 3 * ldc, va, c30, c31);
            Store(c + 4 * ldc, va, c40, c41);
            Store(c + 5 * ldc, va, c50, c51);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Update(c, va, vb, c00, c01);
            Update(c + ldc, va, vb, c10, c11);
            Update(c + 2 * ldc, va, vb, c20, c21);
            Update(c + 3 * ldc, va, vb, c30, c31);
            Update(c + 4 * ldc, va, vb, c40, c41);
            Update(c + 5 * ldc, va, vb, c50, c51);
        }
    }

    /// <summary>One rank-1 update of the tile: two B vectors times six broadcast A values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Step(float* a, float* b,
        ref Vector256<float> c00, ref Vector256<float> c01, ref Vector256<float> c10, ref Vector256<float> c11,
        ref Vector256<float> c20, ref Vector256<float> c21, ref Vector256<float> c30, ref Vector256<float> c31,
        ref Vector256<float> c40, ref Vector256<float> c41, ref Vector256<float> c50, ref Vector256<float> c51)
    {
        var b0 = Avx.LoadAlignedVector256(b);
        var b1 = Avx.LoadAlignedVector256(b + 8);
        var ai = Avx.BroadcastScalarToVector256(a);
        c00 = Fma.MultiplyAdd(ai, b0, c00);
        c01 = Fma.MultiplyAdd(ai, b1, c01);
        ai = Avx.BroadcastScalarToVector256(a + 1);
        c10 = Fma.MultiplyAdd(ai, b0, c10);
        c11 = Fma.MultiplyAdd(ai, b1, c11);
        ai = Avx.BroadcastScalarToVector256(a + 2);
        c20 = Fma.MultiplyAdd(ai, b0, c20);
        c21 = Fma.MultiplyAdd(ai, b1, c21);
        ai = Avx.BroadcastScalarToVector256(a + 3);
        c30 = Fma.MultiplyAdd(ai, b0, c30);
        c31 = Fma.MultiplyAdd(ai, b1, c31);
        ai = Avx.BroadcastScalarToVector256(a + 4);
        c40 = Fma.MultiplyAdd(ai, b0, c40);
        c41 = Fma.MultiplyAdd(ai, b1, c41);
        ai = Avx.BroadcastScalarToVector256(a + 5);
        c50 = Fma.MultiplyAdd(ai, b0, c50);
        c51 = Fma.MultiplyAdd(ai, b1, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* row, Vector256<float> alpha, Vector256<float> lo, Vector256<float> hi)
    {
        Avx.Store(row, Avx.Multiply(alpha, lo));
        Avx.Store(row + 8, Avx.Multiply(alpha, hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Update(float* row, Vector256<float> alpha, Vector256<float> beta, Vector256<float> lo, Vector256<float> hi)
    {
        Avx.Store(row, Fma.MultiplyAdd(alpha, lo, Avx.Multiply(beta, Avx.LoadVector256(row))));
        Avx.Store(row + 8, Fma.MultiplyAdd(alpha, hi, Avx.Multiply(beta, Avx.LoadVector256(row + 8))));
    }

    /// <summary>
    /// The same tile contract for any element type on any machine: MR rows of four <c>Vector128</c> columns
    /// (16 floats or 8 doubles). It does one row at a time, re-reading the B panel from L1 for each row,
    /// which costs speed but needs only four accumulators, so it stays in registers even on SSE.
    /// </summary>
    private static unsafe void MicroKernelPortable<T>(int kc, T* a, T* b, T* c, int ldc, T alpha, T beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int lanes = Vector128<T>.Count;
        int nr = 4 * lanes;
        var va = Vector128.Create(alpha);
        var vb = Vector128.Create(beta);
        for (int i = 0; i < MR; i++)
        {
            Vector128<T> s0 = default, s1 = default, s2 = default, s3 = default;
            T* ap = a + i;
            T* bp = b;
            for (int p = 0; p < kc; p++, ap += MR, bp += nr)
            {
                var ai = Vector128.Create(*ap);
                s0 += ai * Vector128.Load(bp);
                s1 += ai * Vector128.Load(bp + lanes);
                s2 += ai * Vector128.Load(bp + 2 * lanes);
                s3 += ai * Vector128.Load(bp + 3 * lanes);
            }
            T* row = c + (long)i * ldc;
            if (beta == T.Zero)
            {
                (va * s0).Store(row);
                (va * s1).Store(row + lanes);
                (va * s2).Store(row + 2 * lanes);
                (va * s3).Store(row + 3 * lanes);
            }
            else
            {
                (va * s0 + vb * Vector128.Load(row)).Store(row);
                (va * s1 + vb * Vector128.Load(row + lanes)).Store(row + lanes);
                (va * s2 + vb * Vector128.Load(row + 2 * lanes)).Store(row + 2 * lanes);
                (va * s3 + vb * Vector128.Load(row + 3 * lanes)).Store(row + 3 * lanes);
            }
        }
    }
}

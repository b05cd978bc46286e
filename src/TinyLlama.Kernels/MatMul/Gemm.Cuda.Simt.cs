using ILGPU;

namespace TinyLlama.Kernels;

public static partial class GemmKernels
{
    public const int SimtTile = 32, SimtGroupSize = 256;
    const int SimtPitch = SimtTile + 1; // a padded shared row: a column walk touches 32 different banks

    /// <summary>
    /// The plain path: C = alpha·op(A)·op(B) + beta·C with f32 FMAs, for f32 operands, for GPUs without bf16 tensor
    /// cores, and as a second opinion on the tensor-core kernel. One group of 256 threads per 32×32 tile of C; k
    /// advances 32 at a time through two padded shared tiles op(A) (m, k) and op(B) (k, n), which the group fills with
    /// guarded loads (zero outside the matrices) where consecutive threads walk the operand's stored rows, whatever
    /// the transposition. Thread (tx, ty) = (t % 16, t / 16) accumulates C rows ty and ty+16, columns tx and tx+16.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element), typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(ushort), typeof(Bf16Element))]
    public static void Simt<TIn, TInElement, TC, TCElement>(ArrayView<TIn> a, ArrayView<TIn> b, ArrayView<TC> c,
        GemmGpuParams p)
        where TIn : unmanaged where TInElement : struct, IGpuElement<TIn>
        where TC : unmanaged where TCElement : struct, IGpuElement<TC>
    {
        ArrayView<float> tileA = SharedMemory.Allocate<float>(SimtTile * SimtPitch); // (m, k)
        ArrayView<float> tileB = SharedMemory.Allocate<float>(SimtTile * SimtPitch); // (k, n)
        int thread = Group.IdxX, tx = thread & 15, ty = thread >> 4;
        int m0 = Grid.IdxY * SimtTile, n0 = Grid.IdxX * SimtTile;
        for (int batch = Grid.IdxZ; batch < p.Batch; batch += Grid.DimZ)
        {
            long offsetA = batch * p.StrideA, offsetB = batch * p.StrideB, offsetC = batch * p.StrideC;
            float s00 = 0, s01 = 0, s10 = 0, s11 = 0;
            for (int k0 = 0; k0 < p.K; k0 += SimtTile)
            {
                for (int e = thread; e < SimtTile * SimtTile; e += SimtGroupSize)
                {
                    int fast = e & (SimtTile - 1), slow = e >> 5;
                    int am = p.TransA == 0 ? slow : fast, ak = p.TransA == 0 ? fast : slow;
                    int m = m0 + am, ka = k0 + ak;
                    tileA[am * SimtPitch + ak] = m < p.M && ka < p.K
                        ? default(TInElement).Widen(a[offsetA + (p.TransA == 0 ? (long)m * p.Lda + ka : (long)ka * p.Lda + m)])
                        : 0f;
                    int bk = p.TransB == 0 ? slow : fast, bn = p.TransB == 0 ? fast : slow;
                    int n = n0 + bn, kb = k0 + bk;
                    tileB[bk * SimtPitch + bn] = n < p.N && kb < p.K
                        ? default(TInElement).Widen(b[offsetB + (p.TransB == 0 ? (long)kb * p.Ldb + n : (long)n * p.Ldb + kb)])
                        : 0f;
                }
                Group.Barrier();
                for (int kk = 0; kk < SimtTile; kk++)
                {
                    float a0 = tileA[ty * SimtPitch + kk], a1 = tileA[(ty + 16) * SimtPitch + kk];
                    float b0 = tileB[kk * SimtPitch + tx], b1 = tileB[kk * SimtPitch + tx + 16];
                    s00 += a0 * b0;
                    s01 += a0 * b1;
                    s10 += a1 * b0;
                    s11 += a1 * b1;
                }
                Group.Barrier();
            }
            StoreElement<TC, TCElement>(c, p, offsetC, m0 + ty, n0 + tx, s00);
            StoreElement<TC, TCElement>(c, p, offsetC, m0 + ty, n0 + tx + 16, s01);
            StoreElement<TC, TCElement>(c, p, offsetC, m0 + ty + 16, n0 + tx, s10);
            StoreElement<TC, TCElement>(c, p, offsetC, m0 + ty + 16, n0 + tx + 16, s11);
        }
    }
}

using System.Numerics;
using System.Runtime.Intrinsics.X86;

namespace TinyLlama.Kernels;

/// <summary>The micro-kernel a GEMM runs on; the blocking and packing around it are shared.</summary>
internal enum GemmKernel
{
    /// <summary>6×16 float tile in twelve <c>Vector256</c> accumulators with FMA (x86 with AVX2 and FMA).</summary>
    Avx2Fma,
    /// <summary><c>Vector128</c> tile for any element type and any machine; the double path always uses it.</summary>
    Portable,
}

/// <summary>
/// The packed, cache-blocked GEMM, in the GotoBLAS/BLIS arrangement. Five loops surround a micro-kernel
/// that keeps an MR×NR tile of C in registers:
/// <code>
/// for jc in 0..N step NC          B block of NC columns          (lives in L3)
///   for pc in 0..K step KC        pack B[pc.., jc..]  KC×NC       → NR-wide panels, p-major
///     for ic in 0..M step MC      pack A[ic.., pc..]  MC×KC       → MR-tall panels, p-major (lives in L2)
///       for jr in 0..NC step NR     one B panel KC×NR              (lives in L1)
///         for ir in 0..MC step MR     micro-kernel: C[MR×NR] += A panel · B panel
/// </code>
/// Packing copies each operand into the order the micro-kernel reads it: an A panel holds, for each p,
/// MR consecutive values op(A)[i..i+MR, p]; a B panel holds, for each p, NR consecutive values
/// op(B)[p, j..j+NR]. Both are contiguous and 64-byte aligned, the transposes are absorbed here, and
/// ragged edges are padded with zeros so the kernel always runs a full tile.
///
/// Sizes for float on this kind of core (32 KiB L1d, 512 KiB L2 per core):
/// - MR×NR = 6×16: twelve 8-lane accumulators, two B vectors and one broadcast A value use 15 of the
///   16 ymm registers; each k step does 12 FMAs for 8 loads, enough to keep both FMA pipes busy.
/// - KC = 256: one B panel is 256·16·4 = 16 KiB, half of L1, so it stays there while the kernel walks
///   every A panel of the block; an A panel (6 KiB) streams beside it.
/// - MC = 144: the packed A block is 144·256·4 = 144 KiB, well inside L2 with room for the B panels
///   passing through.
/// - NC = 2048: the packed B block is 2 MiB per thread, which leaves L3 room for A and C.
///
/// Threads: C is cut into one strip per core, in whole tiles, and each thread runs the five loops on its
/// strip with its own packing buffers, so threads never wait for each other. Each thread repacks the
/// operand it shares (K·M or K·N copies against M·N·K/cores FMAs); <see cref="PreferSplitN"/> picks the
/// side whose repeated packing is cheaper.
/// </summary>
public static partial class Gemm
{
    private const int MR = 6;
    private const int KcSize = 256;
    private const int McSize = 144;
    private const int NcSize = 2048;

    /// <summary>Below this many multiply-adds a GEMM runs on the calling thread: a hand-off costs more.</summary>
    private const long MinParallelWork = 64L * 64 * 64;

    internal static GemmKernel DefaultKernel<T>()
        => typeof(T) == typeof(float) && Fma.IsSupported && Avx2.IsSupported ? GemmKernel.Avx2Fma : GemmKernel.Portable;

    /// <summary>Tile width in elements: 16 for float, 8 for double (four 128-bit vectors in the portable kernel).</summary>
    private static int TileWidth<T>() where T : unmanaged => 64 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>Validated arguments in; chooses the threads and hands each a strip of C.</summary>
    private static unsafe void Run<T>(GemmKernel kernel, bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc, int maxDegree)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == T.Zero)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        if (kernel == GemmKernel.Avx2Fma && (typeof(T) != typeof(float) || !Fma.IsSupported || !Avx2.IsSupported))
            throw new PlatformNotSupportedException("Gemm.Multiply: the AVX2+FMA kernel needs float operands and an x86 CPU with AVX2 and FMA.");

        int nr = TileWidth<T>();
        fixed (T* pa = a, pb = b, pc = c)
        {
            var job = new Job<T>
            {
                Kernel = kernel, TransA = transA, TransB = transB, K = k,
                Alpha = alpha, Beta = beta, A = pa, Lda = lda, B = pb, Ldb = ldb, C = pc, Ldc = ldc,
            };
            long work = (long)m * n * k;
            int degree = work < MinParallelWork ? 1 : Math.Max(1, maxDegree);
            int tilesM = (m + MR - 1) / MR, tilesN = (n + nr - 1) / nr;
            bool splitN = PreferSplitN(m, n, transA, transB);
            if (splitN ? tilesN < degree : tilesM < degree) splitN = !splitN;
            int tiles = splitN ? tilesN : tilesM;
            degree = Math.Min(degree, tiles);
            if (degree == 1)
            {
                RunStrip(in job, 0, m, 0, n);
                return;
            }
            int tile = splitN ? nr : MR;
            int extent = splitN ? n : m;
            Parallel.For(0, degree, new ParallelOptions { MaxDegreeOfParallelism = degree }, part =>
            {
                int start = (int)((long)tiles * part / degree) * tile;
                int end = Math.Min(extent, (int)((long)tiles * (part + 1) / degree) * tile);
                if (end <= start) return;
                if (splitN) RunStrip(in job, 0, m, start, end);
                else RunStrip(in job, start, end, 0, n);
            });
        }
    }

    /// <summary>
    /// Whether to give each thread a strip of columns (true) or of rows. A column strip needs all of A
    /// packed by every thread, a row strip all of B, so pick the cheaper copy to repeat. The weights are
    /// the measured cost per element of each packing on Zen 3, relative to the slowest: untransposed A
    /// (4×4 transposes) and untransposed B (row copies) run about three times faster than transposed A
    /// (scalar gather).
    /// </summary>
    private static bool PreferSplitN(int m, int n, bool transA, bool transB)
    {
        double repeatA = m * (transA ? 1.0 : 0.35);
        double repeatB = n * (transB ? 0.9 : 0.3);
        return repeatA <= repeatB;
    }

    /// <summary>The arguments of one GEMM, as raw pointers so that worker threads can share them.</summary>
    private unsafe struct Job<T> where T : unmanaged
    {
        public GemmKernel Kernel;
        public bool TransA, TransB;
        public int K;
        public T Alpha, Beta;
        public T* A, B, C;
        public int Lda, Ldb, Ldc;
    }

    /// <summary>The five blocking loops over rows [i0, i1) and columns [j0, j1) of C, on the calling thread.</summary>
    private static unsafe void RunStrip<T>(in Job<T> job, int i0, int i1, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int nr = TileWidth<T>();
        int k = job.K;
        int kcMax = Math.Min(KcSize, k);
        int mcMax = Math.Min(McSize, RoundUp(i1 - i0, MR));
        int ncMax = Math.Min(NcSize, RoundUp(j1 - j0, nr));
        T* packedA = PackBuffers.Get<T>(0, (long)mcMax * kcMax);
        T* packedB = PackBuffers.Get<T>(1, (long)ncMax * kcMax);

        for (int jc = j0; jc < j1; jc += NcSize)
        {
            int nc = Math.Min(NcSize, j1 - jc);
            for (int pc = 0; pc < k; pc += KcSize)
            {
                int kc = Math.Min(KcSize, k - pc);
                PackB(packedB, job.B, job.Ldb, job.TransB, pc, kc, jc, nc, nr);
                // The first K block applies the caller's beta; later ones add onto what it wrote.
                T beta = pc == 0 ? job.Beta : T.One;
                for (int ic = i0; ic < i1; ic += McSize)
                {
                    int mc = Math.Min(McSize, i1 - ic);
                    PackA(packedA, job.A, job.Lda, job.TransA, ic, mc, pc, kc);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        T* panelB = packedB + (long)jr * kc;
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int rows = Math.Min(MR, mc - ir);
                            T* panelA = packedA + (long)ir * kc;
                            T* tile = job.C + (long)(ic + ir) * job.Ldc + jc + jr;
                            RunTile(job.Kernel, kc, panelA, panelB, tile, job.Ldc, rows, cols, nr, job.Alpha, beta);
                        }
                    }
                }
            }
        }
    }

    /// <summary>One micro-kernel call; a ragged tile is computed into a scratch tile and merged element by element.</summary>
    private static unsafe void RunTile<T>(GemmKernel kernel, int kc, T* panelA, T* panelB, T* c, int ldc,
        int rows, int cols, int nr, T alpha, T beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == MR && cols == nr)
        {
            if (kernel == GemmKernel.Avx2Fma)
                MicroKernelAvx2(kc, (float*)panelA, (float*)panelB, (float*)c, ldc, float.CreateTruncating(alpha), float.CreateTruncating(beta));
            else
                MicroKernelPortable(kc, panelA, panelB, c, ldc, alpha, beta);
            return;
        }
        // 6×16 floats or 6×8 doubles: 384 bytes either way.
        T* scratch = stackalloc T[MR * 16];
        if (kernel == GemmKernel.Avx2Fma)
            MicroKernelAvx2(kc, (float*)panelA, (float*)panelB, (float*)scratch, nr, 1f, 0f);
        else
            MicroKernelPortable(kc, panelA, panelB, scratch, nr, T.One, T.Zero);
        for (int i = 0; i < rows; i++)
        {
            T* row = c + (long)i * ldc;
            T* sum = scratch + i * nr;
            if (beta == T.Zero)
                for (int j = 0; j < cols; j++) row[j] = alpha * sum[j];
            else
                for (int j = 0; j < cols; j++) row[j] = alpha * sum[j] + beta * row[j];
        }
    }

    /// <summary>C = beta·C, the whole product when K or alpha is zero; beta = 0 writes zeros without reading C.</summary>
    private static void ScaleC<T>(int m, int n, T beta, Span<T> c, int ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            Span<T> row = c.Slice(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else if (beta != T.One)
                for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}

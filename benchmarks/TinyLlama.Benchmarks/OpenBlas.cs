using System.Runtime.InteropServices;

namespace TinyLlama.Benchmarks;

/// <summary>
/// OpenBLAS's <c>cblas_sgemm</c>, found at run time so the suite still runs (without the baseline) where
/// the library is missing. On Debian it comes from <c>libopenblas0-pthread</c>; set TINYLLAMA_OPENBLAS
/// to a library path to measure another build.
/// </summary>
internal static unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;
    private static readonly string LibraryName = Environment.GetEnvironmentVariable("TINYLLAMA_OPENBLAS") ?? "libopenblas.so.0";

    private static readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> s_sgemm;
    private static readonly delegate* unmanaged[Cdecl]<int, void> s_setThreads;
    private static readonly delegate* unmanaged[Cdecl]<byte*> s_coreName;

    /// <summary>Why the baseline cannot run, or null when it can.</summary>
    public static string? MissingReason { get; }

    public static bool IsAvailable => MissingReason is null;

    static OpenBlas()
    {
        if (!NativeLibrary.TryLoad(LibraryName, out nint handle))
        {
            MissingReason = $"{LibraryName} could not be loaded (on Debian: apt-get install libopenblas0-pthread)";
            return;
        }
        if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out nint sgemm))
        {
            MissingReason = $"{LibraryName} has no cblas_sgemm export";
            return;
        }
        s_sgemm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
        if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out nint setThreads))
            s_setThreads = (delegate* unmanaged[Cdecl]<int, void>)setThreads;
        if (NativeLibrary.TryGetExport(handle, "openblas_get_corename", out nint coreName))
            s_coreName = (delegate* unmanaged[Cdecl]<byte*>)coreName;
    }

    /// <summary>Sets OpenBLAS's thread count (the same as OPENBLAS_NUM_THREADS, but after load).</summary>
    public static void SetThreads(int threads)
    {
        if (s_setThreads != null) s_setThreads(threads);
    }

    /// <summary>The kernel family OpenBLAS picked for this CPU (e.g. "Zen", "Haswell").</summary>
    public static string CoreName => s_coreName == null ? "unknown" : Marshal.PtrToStringAnsi((nint)s_coreName()) ?? "unknown";

    /// <summary>Row-major C = alpha·op(A)·op(B) + beta·C, same argument meaning as <c>Gemm.Multiply</c>.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        if (!IsAvailable) throw new InvalidOperationException($"OpenBLAS baseline unavailable: {MissingReason}.");
        fixed (float* pa = a, pb = b, pc = c)
        {
            s_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }
}

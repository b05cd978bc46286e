using System.Runtime.InteropServices;

namespace TinyLlama.Benchmarks.Gpu;

/// <summary>
/// cuBLAS's <c>cublasGemmEx</c>, found at run time: the comparator our tensor-core matmul is held against, in the
/// benchmarks only, never in the library. ILGPU.Algorithms' wrapper knows only libcublas.so.10–12 and has no bf16
/// GemmEx, so the library is looked up here, newest major version first, in $CUDA_HOME/lib64, /usr/local/cuda/lib64,
/// the loader's paths and the nvidia-cublas wheel that PyTorch installs. Set TINYLLAMA_CUBLAS to a path to choose.
/// </summary>
internal sealed unsafe class CuBlas : IDisposable
{
    // cuBLAS enums (cublas_api.h, library_types.h).
    public const int OpN = 0, OpT = 1;
    public const int DataTypeF32 = 0, DataTypeBf16 = 14;
    const int ComputeF32 = 68, GemmDefaultTensorOp = 99;

    static readonly string[] Names = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"];

    static readonly delegate* unmanaged[Cdecl]<IntPtr*, int> s_create;
    static readonly delegate* unmanaged[Cdecl]<IntPtr, int> s_destroy;
    static readonly delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int> s_setStream;
    static readonly delegate* unmanaged[Cdecl]<IntPtr, int, int, int, int, int, float*, IntPtr, int, int, IntPtr, int, int,
        float*, IntPtr, int, int, int, int, int> s_gemmEx;

    /// <summary>Why the baseline cannot run, or null when it can.</summary>
    public static string? MissingReason { get; }

    /// <summary>The library file that was loaded.</summary>
    public static string? LibraryPath { get; }

    static CuBlas()
    {
        foreach (string candidate in Candidates())
        {
            if (!NativeLibrary.TryLoad(candidate, out nint library)) continue;
            if (!NativeLibrary.TryGetExport(library, "cublasCreate_v2", out nint create)
                || !NativeLibrary.TryGetExport(library, "cublasDestroy_v2", out nint destroy)
                || !NativeLibrary.TryGetExport(library, "cublasSetStream_v2", out nint setStream)
                || !NativeLibrary.TryGetExport(library, "cublasGemmEx", out nint gemmEx))
                continue;
            s_create = (delegate* unmanaged[Cdecl]<IntPtr*, int>)create;
            s_destroy = (delegate* unmanaged[Cdecl]<IntPtr, int>)destroy;
            s_setStream = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int>)setStream;
            s_gemmEx = (delegate* unmanaged[Cdecl]<IntPtr, int, int, int, int, int, float*, IntPtr, int, int, IntPtr, int, int,
                float*, IntPtr, int, int, int, int, int>)gemmEx;
            LibraryPath = candidate;
            return;
        }
        MissingReason = $"cuBLAS not found (tried {string.Join(", ", Names)} in $CUDA_HOME/lib64, /usr/local/cuda/lib64, " +
                        "the loader's paths and PyTorch's nvidia/cublas/lib; set TINYLLAMA_CUBLAS to a library path)";
    }

    static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("TINYLLAMA_CUBLAS") is { Length: > 0 } given) yield return given;
        var dirs = new List<string>();
        if (Environment.GetEnvironmentVariable("CUDA_HOME") is { Length: > 0 } home) dirs.Add(Path.Combine(home, "lib64"));
        dirs.Add("/usr/local/cuda/lib64");
        foreach (string root in new[] { "/usr/local/lib", "/usr/lib" })
        {
            if (!Directory.Exists(root)) continue;
            foreach (string python in Directory.EnumerateDirectories(root, "python3*"))
            foreach (string packages in new[] { "dist-packages", "site-packages" })
                dirs.Add(Path.Combine(python, packages, "nvidia", "cublas", "lib"));
        }
        foreach (string name in Names)
        {
            foreach (string dir in dirs) yield return Path.Combine(dir, name);
            yield return name; // the loader's own search
        }
    }

    IntPtr handle;

    /// <summary>A cuBLAS handle bound to a CUDA stream (the ILGPU stream's native pointer).</summary>
    public CuBlas(IntPtr stream)
    {
        if (MissingReason is not null) throw new DllNotFoundException(MissingReason);
        IntPtr h;
        Check(s_create(&h), "cublasCreate");
        handle = h;
        Check(s_setStream(handle, stream), "cublasSetStream");
    }

    /// <summary>
    /// Row-major C (m×n) = op(A)·op(B) with bf16 A and B, f32 accumulation, C of <paramref name="cType"/>.
    /// cuBLAS is column-major, so it computes Cᵀ = op(B)ᵀ·op(A)ᵀ: the operands swap, the leading dimensions stay.
    /// </summary>
    public void GemmBf16(bool transA, bool transB, int m, int n, int k, IntPtr a, int lda, IntPtr b, int ldb,
        IntPtr c, int ldc, int cType, float alpha = 1, float beta = 0)
    {
        Check(s_gemmEx(handle, transB ? OpT : OpN, transA ? OpT : OpN, n, m, k, &alpha,
            b, DataTypeBf16, ldb, a, DataTypeBf16, lda, &beta, c, cType, ldc, ComputeF32, GemmDefaultTensorOp), "cublasGemmEx");
    }

    public void Dispose()
    {
        if (handle != IntPtr.Zero) s_destroy(handle);
        handle = IntPtr.Zero;
    }

    static void Check(int status, string call)
    {
        if (status != 0) throw new InvalidOperationException($"{call} failed with cuBLAS status {status}");
    }
}

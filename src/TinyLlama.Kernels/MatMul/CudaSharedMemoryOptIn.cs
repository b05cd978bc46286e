using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels;

/// <summary>
/// Dynamic shared memory above 48 KB per group. CUDA gives a kernel at most 48 KB unless the kernel opts in with
/// <c>cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes)</c> (up to 227 KB on an H100,
/// 163 KB on an A100); ILGPU 1.5.3 passes the size straight to cuLaunchKernel and imports no cuFuncSetAttribute, so
/// this is that call, on the function handle of the kernel a loader delegate stands for. It lives in MatMul because
/// only the GEMM needs it so far (its 4-stage pipeline, 64 KB); another op can move it to Cuda/ when it does too.
/// </summary>
internal static class CudaSharedMemoryOptIn
{
    /// <summary>What every kernel may use without opting in.</summary>
    public const int DefaultLimitBytes = 48 * 1024;

    const int MaxDynamicSharedSizeBytes = 8; // CUfunction_attribute CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES

    // The largest size already allowed, per kernel function handle: the attribute is set once, not per launch.
    static readonly ConcurrentDictionary<IntPtr, int> Allowed = new();

    [DllImport("cuda", EntryPoint = "cuFuncSetAttribute")]
    static extern int CuFuncSetAttribute(IntPtr function, int attribute, int value);

    /// <summary>
    /// Lets <paramref name="kernel"/> (a delegate from <c>accelerator.LoadKernel</c>) launch with
    /// <paramref name="bytes"/> of dynamic shared memory. Nothing to do at or below 48 KB, or off CUDA (the CPU
    /// accelerator has no such limit).
    /// </summary>
    public static void Allow(Accelerator accelerator, Delegate kernel, int bytes)
    {
        if (bytes <= DefaultLimitBytes || accelerator is not CudaAccelerator) return;
        var function = ((CudaKernel)kernel.GetKernel()).FunctionPtr;
        if (Allowed.TryGetValue(function, out int done) && done >= bytes) return;
        accelerator.Bind();
        int status = CuFuncSetAttribute(function, MaxDynamicSharedSizeBytes, bytes);
        if (status != 0)
        {
            throw new InvalidOperationException(
                $"cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, {bytes}) failed with CUresult {status} " +
                $"on {accelerator.Name}: the device does not allow {bytes} bytes of shared memory per group.");
        }
        Allowed[function] = bytes;
    }
}

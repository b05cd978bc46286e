using ILGPU;
using ILGPU.Algorithms;

namespace TinyLlama.Kernels;

/// <summary>
/// The one place that configures an ILGPU context, used by the CUDA runtime, the CPU-accelerator tests and the
/// PTX checks alike: a kernel is checked with exactly the compiler settings it runs with.
/// </summary>
public static class GpuContextSettings
{
    public static Context.Builder Apply(Context.Builder builder)
    {
        // ILGPU binds its CUDA driver API once per process, on first use; the resolver that finds libcuda.so.1 must be
        // in place before any context could touch it.
        CudaDriverLibrary.InstallResolver();
        return builder.Optimize(OptimizationLevel.O2).EnableAlgorithms();
    }
}

using ILGPU;
using ILGPU.Algorithms;

namespace TinyLlama.Kernels;

/// <summary>
/// The one place that configures an ILGPU context, used by the CUDA runtime, the CPU-accelerator tests and the
/// PTX checks alike: a kernel is checked with exactly the compiler settings it runs with.
/// </summary>
public static class GpuContextSettings
{
    public static Context.Builder Apply(Context.Builder builder) =>
        builder.Optimize(OptimizationLevel.O2).EnableAlgorithms();
}

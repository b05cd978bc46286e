using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>Launch shapes shared by the kernels.</summary>
public static class GpuLaunch
{
    /// <summary>Threads per group for element-wise kernels: a multiple of the warp, small enough for any device.</summary>
    public const int ElementwiseGroupSize = 256;

    /// <summary>
    /// A 1-D launch for an element-wise kernel over <paramref name="count"/> elements. The kernels loop with a grid
    /// stride, so the grid is capped: enough groups to fill a large GPU, few enough that the CPU accelerator (one
    /// thread per simulated lane) is not flooded in tests.
    /// </summary>
    public static KernelConfig Elementwise(Accelerator accelerator, long count)
    {
        long wanted = Math.Max(1, (count + ElementwiseGroupSize - 1) / ElementwiseGroupSize);
        int cap = accelerator.AcceleratorType == AcceleratorType.Cuda
            ? accelerator.NumMultiprocessors * 8
            : 2;
        return new KernelConfig((int)Math.Min(wanted, cap), ElementwiseGroupSize);
    }

    /// <summary>One group per row, e.g. RMSNorm or softmax over the last dimension.</summary>
    public static KernelConfig PerRow(int rows, int groupSize) => new(Math.Max(rows, 1), groupSize);
}

using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>The pointwise map on the GPU. Definition: <see cref="Pointwise.MapReference"/>.</summary>
public static class PointwiseKernels
{
    /// <summary>
    /// y[i] = f(x[i])·scale + shift in f32, rounded once to the storage type. Layout: 1-D grid-stride, one element per
    /// thread per step; loads and stores are coalesced. y may be x (each element is read before it is written by the
    /// same thread). Traffic per element: 2·sizeof(T) (8 bytes f32, 4 bf16).
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Map<T, TElement>(ArrayView<T> x, ArrayView<T> y, int op, float scale, float shift)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < y.Length; i += stride)
            y[i] = default(TElement).Narrow(Pointwise.Apply(default(TElement).Widen(x[i]), op) * scale + shift);
    }
}

/// <summary>Launches the pointwise map on one accelerator; lengths and the op are checked before launch.</summary>
public sealed class PointwiseGpu
{
    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, float, float> mapF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, int, float, float> mapBf16;

    public PointwiseGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        mapF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, float, float>(PointwiseKernels.Map<float, F32Element>);
        mapBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, int, float, float>(PointwiseKernels.Map<ushort, Bf16Element>);
    }

    /// <summary>y = f(x)·scale + shift; y may be x.</summary>
    public void Map(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, PointwiseOp op, float scale = 1f, float shift = 0f)
    {
        Pointwise.Check("PointwiseGpu.Map", x.Length, y.Length, op);
        if (y.Length > 0) mapF32(stream, GpuLaunch.Elementwise(accelerator, y.Length), x, y, (int)op, scale, shift);
    }

    public void Map(AcceleratorStream stream, ArrayView<ushort> x, ArrayView<ushort> y, PointwiseOp op, float scale = 1f, float shift = 0f)
    {
        Pointwise.Check("PointwiseGpu.Map", x.Length, y.Length, op);
        if (y.Length > 0) mapBf16(stream, GpuLaunch.Elementwise(accelerator, y.Length), x, y, (int)op, scale, shift);
    }
}

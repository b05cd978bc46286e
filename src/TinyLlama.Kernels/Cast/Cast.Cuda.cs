using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Casts between storage types on the GPU. The CPU definitions are <see cref="BFloat16.FromFloatReference"/> and
/// <see cref="BFloat16.ToFloat(ushort)"/>; widening is exact and narrowing rounds to nearest even, so the GPU
/// result equals the CPU result bit for bit.
/// </summary>
public static class CastKernels
{
    /// <summary>destination[i] = narrow(widen(source[i])), with a grid-stride loop.</summary>
    [GpuKernel(typeof(float), typeof(F32Element), typeof(ushort), typeof(Bf16Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(float), typeof(F32Element), typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element), typeof(ushort), typeof(Bf16Element))]
    public static void Convert<TIn, TInElement, TOut, TOutElement>(ArrayView<TIn> source, ArrayView<TOut> destination)
        where TIn : unmanaged where TInElement : struct, IGpuElement<TIn>
        where TOut : unmanaged where TOutElement : struct, IGpuElement<TOut>
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < source.Length; i += stride)
            destination[i] = default(TOutElement).Narrow(default(TInElement).Widen(source[i]));
    }
}

/// <summary>Launches the cast kernels on one accelerator.</summary>
public sealed class CastGpu
{
    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>> floatToBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<float>> bf16ToFloat;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>> floatCopy;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>> bf16Copy;

    public CastGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        floatToBf16 = accelerator.LoadKernel<ArrayView<float>, ArrayView<ushort>>(
            CastKernels.Convert<float, F32Element, ushort, Bf16Element>);
        bf16ToFloat = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<float>>(
            CastKernels.Convert<ushort, Bf16Element, float, F32Element>);
        floatCopy = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>>(
            CastKernels.Convert<float, F32Element, float, F32Element>);
        bf16Copy = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>>(
            CastKernels.Convert<ushort, Bf16Element, ushort, Bf16Element>);
    }

    public void Convert(AcceleratorStream stream, ArrayView<float> source, ArrayView<ushort> destination)
    {
        SameLength(source.Length, destination.Length);
        floatToBf16(stream, GpuLaunch.Elementwise(accelerator, source.Length), source, destination);
    }

    public void Convert(AcceleratorStream stream, ArrayView<ushort> source, ArrayView<float> destination)
    {
        SameLength(source.Length, destination.Length);
        bf16ToFloat(stream, GpuLaunch.Elementwise(accelerator, source.Length), source, destination);
    }

    public void Convert(AcceleratorStream stream, ArrayView<float> source, ArrayView<float> destination)
    {
        SameLength(source.Length, destination.Length);
        floatCopy(stream, GpuLaunch.Elementwise(accelerator, source.Length), source, destination);
    }

    public void Convert(AcceleratorStream stream, ArrayView<ushort> source, ArrayView<ushort> destination)
    {
        SameLength(source.Length, destination.Length);
        bf16Copy(stream, GpuLaunch.Elementwise(accelerator, source.Length), source, destination);
    }

    static void SameLength(long source, long destination) =>
        KernelArgs.Length("CastGpu.Convert", "destination", destination, source, "source.Length");
}

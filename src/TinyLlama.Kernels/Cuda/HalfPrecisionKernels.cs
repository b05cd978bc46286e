using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// f16 conversion and bf16 pair packing on the GPU. They serve transfers and casts of f16 tensors and are the kernels
/// the CPU-accelerator tests hold against <see cref="HalfCast"/> and <see cref="BFloat16.FromFloatReference"/>.
/// </summary>
public static class HalfPrecisionKernels
{
    /// <summary>destination[i] = f16(source[i]), rounded to nearest even; a grid-stride loop.</summary>
    [GpuKernel]
    public static void FloatToF16(ArrayView<float> source, ArrayView<ushort> destination)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < source.Length; i += stride)
            destination[i] = F16Element.FromFloat(source[i]);
    }

    /// <summary>destination[i] = f32(source[i]), exact.</summary>
    [GpuKernel]
    public static void F16ToFloat(ArrayView<ushort> source, ArrayView<float> destination)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < source.Length; i += stride)
            destination[i] = F16Element.ToFloat(source[i]);
    }

    /// <summary>pairs[i] = (bf16(source[2i]), bf16(source[2i+1])): source has 2 × pairs.Length elements.</summary>
    [GpuKernel]
    public static void PackBf16Pairs(ArrayView<float> source, ArrayView<uint> pairs)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < pairs.Length; i += stride)
            pairs[i] = Bf16Pairs.Pack(source[2 * i], source[2 * i + 1]);
    }

    /// <summary>destination[2i], destination[2i+1] = the two halves of pairs[i], widened exactly.</summary>
    [GpuKernel]
    public static void UnpackBf16Pairs(ArrayView<uint> pairs, ArrayView<float> destination)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < pairs.Length; i += stride)
        {
            uint pair = pairs[i];
            destination[2 * i] = Bf16Pairs.Low(pair);
            destination[2 * i + 1] = Bf16Pairs.High(pair);
        }
    }
}

/// <summary>Launches <see cref="HalfPrecisionKernels"/> on one accelerator; lengths are checked before launch.</summary>
public sealed class HalfPrecisionGpu
{
    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>> floatToF16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<float>> f16ToFloat;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<uint>> pack;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<uint>, ArrayView<float>> unpack;

    public HalfPrecisionGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        floatToF16 = accelerator.LoadKernel<ArrayView<float>, ArrayView<ushort>>(HalfPrecisionKernels.FloatToF16);
        f16ToFloat = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<float>>(HalfPrecisionKernels.F16ToFloat);
        pack = accelerator.LoadKernel<ArrayView<float>, ArrayView<uint>>(HalfPrecisionKernels.PackBf16Pairs);
        unpack = accelerator.LoadKernel<ArrayView<uint>, ArrayView<float>>(HalfPrecisionKernels.UnpackBf16Pairs);
    }

    public void FloatToF16(AcceleratorStream stream, ArrayView<float> source, ArrayView<ushort> destination)
    {
        KernelArgs.Length("HalfPrecisionGpu.FloatToF16", "destination", destination.Length, source.Length, "source.Length");
        floatToF16(stream, GpuLaunch.Elementwise(accelerator, source.Length), source, destination);
    }

    public void F16ToFloat(AcceleratorStream stream, ArrayView<ushort> source, ArrayView<float> destination)
    {
        KernelArgs.Length("HalfPrecisionGpu.F16ToFloat", "destination", destination.Length, source.Length, "source.Length");
        f16ToFloat(stream, GpuLaunch.Elementwise(accelerator, source.Length), source, destination);
    }

    public void PackBf16Pairs(AcceleratorStream stream, ArrayView<float> source, ArrayView<uint> pairs)
    {
        KernelArgs.Length("HalfPrecisionGpu.PackBf16Pairs", "source", source.Length, 2 * pairs.Length, "2 × pairs.Length");
        pack(stream, GpuLaunch.Elementwise(accelerator, pairs.Length), source, pairs);
    }

    public void UnpackBf16Pairs(AcceleratorStream stream, ArrayView<uint> pairs, ArrayView<float> destination)
    {
        KernelArgs.Length("HalfPrecisionGpu.UnpackBf16Pairs", "destination", destination.Length, 2 * pairs.Length, "2 × pairs.Length");
        unpack(stream, GpuLaunch.Elementwise(accelerator, pairs.Length), pairs, destination);
    }
}

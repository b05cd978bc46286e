using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// The GPU path of <see cref="Tensor.To(DType)"/>: f32 ↔ bf16 with <see cref="CastGpu"/> (a strided view is read in
/// place by <see cref="StridedCopyGpu"/>'s converting copy), any same-dtype cast as a device copy. Narrowing rounds
/// to nearest even, bit for bit as on the CPU. Unrecorded: Tensor.To records the cast.
/// </summary>
internal static class GpuCast
{
    public static Tensor To(Tensor x, DType dtype)
    {
        if (x.DType == dtype) return x.CopyContiguous();
        bool supported = (x.DType, dtype) is (DType.F32, DType.BF16) or (DType.BF16, DType.F32);
        if (!supported)
            throw new NotSupportedException(
                $"to({dtype.Name()}): a {x.DType.Name()} → {dtype.Name()} cast of tensor {x.ShapeText} on {x.Device} has no CUDA kernel; on cuda f32 ↔ bf16 are supported (cast on the cpu: x.To(Device.Cpu).To(DType.{dtype}))");
        GpuElementwise.CheckRank($"to({dtype.Name()})", x.Shape, $"tensor {x.ShapeText}");
        var y = Gpu.Empty(x, x.ShapeArray(), dtype);
        if (y.Numel == 0) return y;
        var stream = Gpu.Stream(x);
        if (x.IsContiguous)
        {
            var cast = Gpu.Kernels<CastGpu>(x);
            if (dtype == DType.BF16) cast.Convert(stream, Gpu.F32(x), Gpu.Bf16(y));
            else cast.Convert(stream, Gpu.Bf16(x), Gpu.F32(y));
        }
        else
        {
            var copy = Gpu.Kernels<StridedCopyGpu>(x);
            if (dtype == DType.BF16) copy.Copy(stream, GpuElementwise.Whole<float>(x), GpuElementwise.Layout(x), Gpu.Bf16(y));
            else copy.Copy(stream, GpuElementwise.Whole<ushort>(x), GpuElementwise.Layout(x), Gpu.F32(y));
        }
        return y;
    }
}

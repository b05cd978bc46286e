using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// Plumbing shared by the GPU paths of the ops: the device a cuda tensor lives on, its kernel launchers and stream,
/// and new tensors made beside it. An op's GPU path lives in <c>Cuda/Gpu*.cs</c> next to this file; the public op
/// (in <c>Ops/</c> or <c>Functions/</c>) branches to it with <see cref="OpChecks.AnyOnGpu"/>. Every kernel is queued
/// on the device's one stream, so ops need no synchronisation between them; reading a value back (Item, To(cpu))
/// waits for the queue.
/// </summary>
internal static class Gpu
{
    /// <summary>The device whose memory holds <paramref name="t"/>.</summary>
    public static GpuDevice DeviceOf(Tensor t) =>
        (t.Storage as GpuStorage)?.GpuDevice
        ?? throw new InvalidOperationException($"tensor {t.ShapeText} lives on {t.Device}, not on a cuda device");

    /// <summary>The launcher <typeparamref name="TKernels"/> (e.g. RmsNormGpu) of <paramref name="t"/>'s device, compiled on first use.</summary>
    public static TKernels Kernels<TKernels>(Tensor t) where TKernels : class => DeviceOf(t).Kernels.Get<TKernels>();

    public static AcceleratorStream Stream(Tensor t) => DeviceOf(t).Stream;

    /// <summary>A new tensor on <paramref name="like"/>'s device; dtype defaults to like's.</summary>
    public static Tensor Empty(Tensor like, int[] shape, DType? dtype = null) => Tensor.Empty(shape, dtype ?? like.DType, like.Device);

    public static Tensor EmptyLike(Tensor like) => Tensor.Empty(like.ShapeArray(), like.DType, like.Device);

    public static Tensor Zeros(Tensor like, int[] shape, DType? dtype = null) => Tensor.Zeros(shape, dtype ?? like.DType, like.Device);

    /// <summary>The elements of a contiguous f32 cuda tensor.</summary>
    public static ArrayView<float> F32(Tensor t) => t.AsGpuView<float>();

    /// <summary>The elements of a contiguous bf16 cuda tensor, as their bit patterns.</summary>
    public static ArrayView<ushort> Bf16(Tensor t) => t.AsGpuView<ushort>();

    public static ArrayView<int> I32(Tensor t) => t.AsGpuView<int>();
}

using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// Moving tensors between the CPU and CUDA devices, and making them on a device. A cuda tensor's storage is a
/// <see cref="GpuStorage"/> on the device <see cref="GpuDevices"/> opens for its index (a simulated one after
/// <see cref="GpuDevices.UseSimulator"/>). Ops that have no CUDA kernel yet refuse cuda tensors with one message,
/// from <see cref="CpuOnly"/>.
/// </summary>
public sealed partial class Tensor
{
    /// <summary>
    /// This tensor on <paramref name="device"/>: a new contiguous tensor holding a copy (a strided view is made
    /// contiguous on the way), or a new Tensor object sharing the storage when it is already there (dispose either freely). Differentiable:
    /// the gradient goes back to the source device. cuda → cuda between two devices goes through host memory.
    /// </summary>
    public Tensor To(Device device)
    {
        ThrowIfDisposed("to");
        if (device == Device) return Autograd.Record(Alias(), new IdentityFunction("to"), this);
        Tensor result;
        if (Device.Kind == DeviceKind.Cpu) result = Upload(device);
        else if (device.Kind == DeviceKind.Cpu) result = Download();
        else
        {
            using var host = Download();
            result = host.Upload(device);
        }
        return Autograd.Record(result, new ToDeviceFunction(Device), this);
    }

    /// <summary>A tensor of zeros on <paramref name="device"/>.</summary>
    public static Tensor Zeros(int[] shape, DType dtype, Device device)
    {
        if (device.Kind == DeviceKind.Cpu) return Zeros(shape, dtype);
        var t = Empty(shape, dtype, device);
        if (t.Numel == 0) return t; // ILGPU's memset refuses an empty view
        var storage = (GpuStorage)t.Storage;
        storage.Bytes.MemSetToZero(storage.GpuDevice.Stream);
        return t;
    }

    /// <summary>A tensor on <paramref name="device"/> whose contents are undefined (a reused GPU block holds old data).</summary>
    public static Tensor Empty(int[] shape, DType dtype, Device device)
    {
        if (device.Kind == DeviceKind.Cpu) return Empty(shape, dtype);
        shape = CheckShape("Empty", shape);
        var storage = new GpuStorage(GpuDevices.Get(device.Index), dtype, Shapes.Numel(shape));
        return new Tensor(storage, shape, Shapes.ContiguousStrides(shape), 0, takeReference: false);
    }

    /// <summary>
    /// The elements of a contiguous cuda tensor as a device view, for GPU kernels. T has the dtype's size: float for
    /// f32, ushort for bf16 and f16 (their bits), int for i32, double for f64.
    /// </summary>
    public ArrayView<T> AsGpuView<T>() where T : unmanaged
    {
        var storage = Storage as GpuStorage
            ?? throw new InvalidOperationException($"AsGpuView: tensor {ShapeText} lives on {Device}, not on a cuda device");
        if (!IsContiguous)
            throw new InvalidOperationException($"AsGpuView: tensor {ShapeText} with strides ({string.Join(", ", _strides)}) is not contiguous; call Contiguous() first");
        return storage.View<T>(Offset, Numel);
    }

    /// <summary>The error every CPU-only op gives a tensor that lives on a GPU: one wording, found by grep.</summary>
    internal static NotSupportedException CpuOnly(string op, Tensor t) =>
        new($"{op} runs on cpu only (no CUDA kernel for it); got a {t.Device} tensor {t.ShapeText}{(t.Name is null ? "" : $" '{t.Name}'")}");

    /// <summary>The CPU storage, for code that reads memory directly; a cuda tensor gets <see cref="CpuOnly"/>.</summary>
    internal CpuStorage CpuStorageFor(string op) => Storage as CpuStorage ?? throw CpuOnly(op, this);

    private Tensor Upload(Device device)
    {
        using var host = CopyIfStrided();
        var result = Empty(ShapeArray(), DType, device);
        if (Numel == 0) return result;
        var storage = (GpuStorage)result.Storage;
        var bytes = host.CpuStorageFor("to").AsSpan<byte>(host.Offset * DType.SizeInBytes(), Numel * DType.SizeInBytes());
        storage.GpuDevice.Transfers.Upload<byte>(bytes, storage.Bytes);
        return result;
    }

    private Tensor Download()
    {
        using var contiguous = CopyIfStrided(); // on the GPU: a gather kernel, then one transfer
        var result = new Tensor(ShapeArray(), DType, zeroed: false);
        if (Numel == 0) return result;
        var storage = (GpuStorage)contiguous.Storage;
        int size = DType.SizeInBytes();
        var bytes = result.CpuStorageFor("to").AsSpan<byte>(0, Numel * size);
        storage.GpuDevice.Transfers.Download(storage.Bytes.SubView(contiguous.Offset * size, Numel * size), bytes);
        return result;
    }

    /// <summary>A contiguous copy of a cuda tensor on its own device: one device copy, or a gather kernel for a strided view.</summary>
    private Tensor CopyContiguousOnGpu()
    {
        var source = (GpuStorage)Storage;
        var result = Empty(ShapeArray(), DType, Device);
        if (Numel == 0) return result;
        var target = (GpuStorage)result.Storage;
        var device = source.GpuDevice;
        int size = DType.SizeInBytes();
        if (IsContiguous)
            source.Bytes.SubView(Offset * size, Numel * size).CopyTo(device.Stream, target.Bytes);
        else
            device.Kernels.Get<StridedCopyGpu>().Gather(device.Stream, source.Bytes, target.Bytes,
                StridedLayout.Create(_shape, Array.ConvertAll(_strides, s => checked((int)s)), checked((int)Offset)), size);
        return result;
    }

    /// <summary>Fill for a cuda tensor: the value is written on the host and copied over (not a hot path).</summary>
    private void FillOnGpu(double value)
    {
        using var host = Full(ShapeArray(), value, DType);
        var storage = (GpuStorage)Storage;
        int size = DType.SizeInBytes();
        var bytes = host.CpuStorageFor("fill").AsSpan<byte>(0, Numel * size);
        storage.GpuDevice.Transfers.Upload<byte>(bytes, storage.Bytes.SubView(Offset * size, Numel * size));
    }
}

/// <summary>The gradient of a device move is the gradient moved back.</summary>
internal sealed class ToDeviceFunction(Device source) : Function
{
    public override string Name => "to_device";

    protected internal override Tensor?[] Backward(Tensor g) => [g.To(source)];
}

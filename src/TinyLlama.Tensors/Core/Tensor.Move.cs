using System.Runtime.InteropServices;
using ILGPU.Runtime;

namespace TinyLlama.Tensors;

/// <summary>
/// Moving a module's parameters between devices in place (the Tensor objects stay, so every reference a model or an
/// optimizer holds follows), and copying values into an existing tensor across devices (loading checkpoints).
/// </summary>
public sealed partial class Tensor
{
    /// <summary>
    /// Moves this leaf's data to <paramref name="device"/>, keeping this Tensor object (as PyTorch's
    /// <c>module.to(device)</c> does for parameters). Its gradient, if any, moves too. Only a leaf that owns its whole
    /// storage can move: a view would leave its base behind.
    /// </summary>
    public void MoveTo(Device device)
    {
        ThrowIfDisposed("move_to");
        if (device == Device) return;
        if (GradFn is not null)
            throw new InvalidOperationException($"move_to: tensor {ShapeText}{NameSuffix} is the result of '{GradFn.Name}'; only leaves (parameters) move in place — use To(device) for results");
        if (!IsContiguous || Offset != 0 || Storage.Length != Numel || Storage.RefCount != 1)
            throw new InvalidOperationException($"move_to: tensor {ShapeText}{NameSuffix} shares its storage with other tensors (a view or an alias); only a tensor that owns its storage moves in place");
        Tensor moved;
        using (GradMode.NoGrad()) moved = To(device);
        TensorScope.Untrack(moved);
        var old = _storage!;
        moved.Storage.AddRef();
        _storage = moved.Storage;
        Device = device;
        moved.Dispose();
        old.Release();
        if (Grad is { } grad)
        {
            grad.MoveTo(device);
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/>'s values into this tensor: same shape and dtype, any devices (host → device
    /// is one upload). Not recorded by autograd.
    /// </summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ThrowIfDisposed("copy_from");
        source.ThrowIfDisposed("copy_from");
        if (!source.Shape.SequenceEqual(Shape) || source.DType != DType)
            throw new ArgumentException($"copy_from: source {source.ShapeText} {source.DType.Name()} does not match {ShapeText} {DType.Name()}{NameSuffix}");
        if (Device.Kind == DeviceKind.Cpu && source.Device.Kind == DeviceKind.Cpu)
        {
            CopyElements(source, this);
            return;
        }
        if (!IsContiguous)
            throw new InvalidOperationException($"copy_from: a {Device} destination {ShapeText} must be contiguous");
        using var noGrad = GradMode.NoGrad();
        using var staged = source.To(Device); // on this device: a new contiguous tensor, or an alias when already here
        if (Numel == 0) return;
        if (Device.Kind == DeviceKind.Cpu)
        {
            CopyElements(staged, this);
            return;
        }
        // staged may be an alias of a strided source already on this device: gather it first, then one device copy.
        using var contiguous = staged.CopyIfStrided();
        int size = DType.SizeInBytes();
        var target = (GpuStorage)Storage;
        ((GpuStorage)contiguous.Storage).Bytes.SubView(contiguous.Offset * size, Numel * size)
            .CopyTo(target.GpuDevice.Stream, target.Bytes.SubView(Offset * size, Numel * size));
    }

    /// <summary>
    /// Copies the elements, row-major, into host memory: T has the dtype's size (float for f32, ushort for bf16); a
    /// cuda tensor is downloaded without an intermediate host tensor when it is contiguous. For code that moves tensors
    /// through host buffers, such as the data-parallel gradient buckets.
    /// </summary>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        ThrowIfDisposed("copy_to");
        CheckHostSpan<T>("copy_to", destination.Length);
        if (Device.Kind == DeviceKind.Cpu || !IsContiguous)
        {
            using var host = Device.Kind == DeviceKind.Cpu ? Contiguous() : To(Device.Cpu);
            host.AsSpan<T>("copy_to").CopyTo(destination);
            return;
        }
        if (Numel == 0) return;
        var storage = (GpuStorage)Storage;
        int size = DType.SizeInBytes();
        storage.GpuDevice.Transfers.Download(storage.Bytes.SubView(Offset * size, Numel * size),
            MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Copies host values, row-major, into this contiguous tensor on any device (one upload for cuda). Not recorded by autograd.</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        ThrowIfDisposed("copy_from");
        CheckHostSpan<T>("copy_from", source.Length);
        if (!IsContiguous)
            throw new InvalidOperationException($"copy_from: destination {ShapeText}{NameSuffix} must be contiguous");
        if (Device.Kind == DeviceKind.Cpu)
        {
            source.CopyTo(AsSpan<T>("copy_from"));
            return;
        }
        if (Numel == 0) return;
        var storage = (GpuStorage)Storage;
        int size = DType.SizeInBytes();
        storage.GpuDevice.Transfers.Upload(MemoryMarshal.AsBytes(source), storage.Bytes.SubView(Offset * size, Numel * size));
    }

    private void CheckHostSpan<T>(string op, int length) where T : unmanaged
    {
        if (DTypeExtensions.Of<T>() != DType)
            throw new ArgumentException($"{op}: a span of {typeof(T).Name} does not match tensor {ShapeText} of dtype {DType.Name()}{NameSuffix}");
        if (length != Numel)
            throw new ArgumentException($"{op}: a span of {length} elements does not match tensor {ShapeText} ({Numel} elements){NameSuffix}");
    }

    private string NameSuffix => Name is null ? "" : $" '{Name}'";
}

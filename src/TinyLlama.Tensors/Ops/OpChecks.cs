namespace TinyLlama.Tensors;

/// <summary>Argument checks shared by the ops, so every op words its errors the same way.</summary>
internal static class OpChecks
{
    /// <summary>Inputs must be live CPU tensors of one floating compute dtype (f32 or f64); a cuda tensor gets <see cref="Tensor.CpuOnly"/>.</summary>
    public static DType ComputeInputs(string op, params Tensor[] tensors)
    {
        foreach (var t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, op);
            t.ThrowIfDisposed(op);
            if (t.Device.Kind != DeviceKind.Cpu) throw Tensor.CpuOnly(op, t);
        }
        var dtype = tensors[0].DType;
        if (!dtype.IsComputeType())
            throw new ArgumentException($"{op}: dtype {dtype.Name()} is not supported; expected f32 or f64 (cast with To(DType.F32))");
        foreach (var t in tensors)
            if (t.DType != dtype)
                throw new ArgumentException($"{op}: dtypes differ ({string.Join(", ", tensors.Select(x => x.DType.Name()))}); expected all {dtype.Name()}");
        return dtype;
    }

    /// <summary>
    /// True when any input lives on a cuda device: the op then takes its GPU path, which checks its inputs with
    /// <see cref="GpuInputs"/>. CPU inputs keep the CPU path (and its checks) untouched.
    /// </summary>
    public static bool AnyOnGpu(params Tensor?[] tensors)
    {
        foreach (var t in tensors)
            if (t is not null && !t.IsDisposed && t.Device.Kind == DeviceKind.Cuda) return true;
        return false;
    }

    /// <summary>
    /// Inputs of a GPU op: live tensors on one cuda device, of one GPU compute dtype (f32, or bf16 with f32 math in
    /// the kernels). Returns the dtype.
    /// </summary>
    public static DType GpuInputs(string op, params Tensor[] tensors)
    {
        foreach (var t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, op);
            t.ThrowIfDisposed(op);
        }
        SameDevice(op, tensors);
        var dtype = tensors[0].DType;
        if (!dtype.IsGpuComputeType())
            throw new ArgumentException($"{op}: dtype {dtype.Name()} is not supported on {tensors[0].Device}; expected f32 or bf16");
        foreach (var t in tensors)
            if (t.DType != dtype)
                throw new ArgumentException($"{op}: dtypes differ ({string.Join(", ", tensors.Select(x => x.DType.Name()))}); expected all {dtype.Name()}");
        return dtype;
    }

    /// <summary>Every tensor on the same device, or an error naming the devices and the way out.</summary>
    public static void SameDevice(string op, params Tensor[] tensors)
    {
        var device = tensors[0].Device;
        foreach (var t in tensors)
            if (t.Device != device)
                throw new ArgumentException($"{op}: inputs live on {string.Join(", ", tensors.Select(x => x.Device.ToString()).Distinct())}; expected all on one device (move them with To(device))");
    }

    /// <summary>i32 indices on the GPU op's device.</summary>
    public static void GpuIndices(string op, string what, Tensor t, Device device)
    {
        ArgumentNullException.ThrowIfNull(t, op);
        t.ThrowIfDisposed(op);
        if (t.Device != device)
            throw new ArgumentException($"{op}: {what} {t.ShapeText} lives on {t.Device}; expected {device} like the other inputs (move it with To(device))");
        if (t.DType != DType.I32)
            throw new ArgumentException($"{op}: {what} {t.ShapeText} has dtype {t.DType.Name()}; expected i32");
    }

    public static void Rank(string op, string what, Tensor t, params int[] allowed)
    {
        if (!allowed.Contains(t.Rank))
            throw new ArgumentException($"{op}: {what} has shape {t.ShapeText} (rank {t.Rank}); expected rank {string.Join(" or ", allowed)}");
    }

    public static void Indices(string op, string what, Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t, op);
        t.ThrowIfDisposed(op);
        if (t.Device.Kind != DeviceKind.Cpu) throw Tensor.CpuOnly(op, t);
        if (t.DType != DType.I32)
            throw new ArgumentException($"{op}: {what} {t.ShapeText} has dtype {t.DType.Name()}; expected i32");
    }
}

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

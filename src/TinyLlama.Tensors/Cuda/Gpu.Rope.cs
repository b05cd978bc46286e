using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal static partial class GpuFunctional
{
    /// <summary>
    /// RoPE on the device: x (B, T, H, Hs) f32 or bf16; cos and sin f32 tables (maxT, Hs/2) on x's device — f32 even
    /// for bf16 x, so the angle is not rounded twice.
    /// </summary>
    public static Tensor Rope(Tensor x, Tensor cos, Tensor sin, int startPos)
    {
        const string op = "rope";
        var dtype = OpChecks.GpuInputs(op, x);
        ArgumentNullException.ThrowIfNull(cos, op);
        ArgumentNullException.ThrowIfNull(sin, op);
        cos.ThrowIfDisposed(op);
        sin.ThrowIfDisposed(op);
        OpChecks.SameDevice(op, x, cos, sin);
        if (cos.DType != DType.F32 || sin.DType != DType.F32)
            throw new ArgumentException($"{op}: tables cos {cos.DType.Name()}, sin {sin.DType.Name()} on {x.Device}; expected f32 tables (also for bf16 x): Functional.RopeTables(..., DType.F32, device)");
        var (b, t, h, hs) = Functional.RopeShape(x, cos, sin, startPos);
        using var xc = x.CopyIfStrided();
        using var cc = cos.CopyIfStrided();
        using var sc = sin.CopyIfStrided();
        var y = Gpu.EmptyLike(xc);
        var kernels = Gpu.Kernels<RopeGpu>(x);
        if (dtype == DType.F32)
            kernels.Forward(Gpu.Stream(x), Gpu.F32(xc), Gpu.F32(y), b, t, h, hs, Gpu.F32(cc), Gpu.F32(sc), startPos);
        else
            kernels.Forward(Gpu.Stream(x), Gpu.Bf16(xc), Gpu.Bf16(y), b, t, h, hs, Gpu.F32(cc), Gpu.F32(sc), startPos);
        return Autograd.Record(y, new GpuRopeFunction(cc, sc, startPos), x);
    }
}

/// <summary>RoPE's backward on the device: the rotation by the opposite angle.</summary>
internal sealed class GpuRopeFunction : Function
{
    private readonly Tensor _cos, _sin;
    private readonly int _startPos;

    public GpuRopeFunction(Tensor cos, Tensor sin, int startPos) => (_cos, _sin, _startPos) = (Save(cos), Save(sin), startPos);

    public override string Name => "rope";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dx = Gpu.EmptyLike(gc);
        int b = g.Size(0), t = g.Size(1), h = g.Size(2), hs = g.Size(3);
        var kernels = Gpu.Kernels<RopeGpu>(g);
        if (g.DType == DType.F32)
            kernels.Backward(Gpu.Stream(g), Gpu.F32(gc), Gpu.F32(dx), b, t, h, hs, Gpu.F32(_cos), Gpu.F32(_sin), _startPos);
        else
            kernels.Backward(Gpu.Stream(g), Gpu.Bf16(gc), Gpu.Bf16(dx), b, t, h, hs, Gpu.F32(_cos), Gpu.F32(_sin), _startPos);
        return [dx];
    }
}

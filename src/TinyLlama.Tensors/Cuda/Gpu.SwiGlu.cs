using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal static partial class GpuFunctional
{
    /// <summary>SiLU(gate) ⊙ up on the device: gate and up of one shape and dtype (f32 or bf16), f32 math.</summary>
    public static Tensor SwiGlu(Tensor gate, Tensor up)
    {
        var dtype = OpChecks.GpuInputs("swiglu", gate, up);
        Functional.SwiGluShape(gate, up);
        using var gc = gate.CopyIfStrided();
        using var uc = up.CopyIfStrided();
        var y = Gpu.EmptyLike(gc);
        var kernels = Gpu.Kernels<SwiGluGpu>(gate);
        if (dtype == DType.F32) kernels.Forward(Gpu.Stream(gate), Gpu.F32(gc), Gpu.F32(uc), Gpu.F32(y));
        else kernels.Forward(Gpu.Stream(gate), Gpu.Bf16(gc), Gpu.Bf16(uc), Gpu.Bf16(y));
        return Autograd.Record(y, new GpuSwiGluFunction(gc, uc), gate, up);
    }
}

/// <summary>SwiGLU's backward on the device: both gradients in one pass over the saved gate and up.</summary>
internal sealed class GpuSwiGluFunction : Function
{
    private readonly Tensor _gate, _up;

    public GpuSwiGluFunction(Tensor gate, Tensor up) => (_gate, _up) = (Save(gate), Save(up));

    public override string Name => "swiglu";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dGate = Gpu.EmptyLike(gc);
        var dUp = Gpu.EmptyLike(gc);
        var kernels = Gpu.Kernels<SwiGluGpu>(g);
        if (g.DType == DType.F32)
            kernels.Backward(Gpu.Stream(g), Gpu.F32(_gate), Gpu.F32(_up), Gpu.F32(gc), Gpu.F32(dGate), Gpu.F32(dUp));
        else
            kernels.Backward(Gpu.Stream(g), Gpu.Bf16(_gate), Gpu.Bf16(_up), Gpu.Bf16(gc), Gpu.Bf16(dGate), Gpu.Bf16(dUp));
        return [dGate, dUp];
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// The GPU paths of <see cref="Functional"/>'s fused ops: the same contract as the CPU op, the kernel from
/// TinyLlama.Kernels' <c>X.Cuda.cs</c>, and an autograd Function whose backward runs on the device too.
/// </summary>
internal static partial class GpuFunctional
{
    /// <summary>SiLU(x) = x·σ(x) on the device (f32 or bf16 storage, f32 math).</summary>
    public static Tensor Silu(Tensor x)
    {
        var dtype = OpChecks.GpuInputs("silu", x);
        using var xc = x.CopyIfStrided();
        var y = Gpu.EmptyLike(xc);
        var kernels = Gpu.Kernels<SwiGluGpu>(x);
        if (dtype == DType.F32) kernels.SiluForward(Gpu.Stream(x), Gpu.F32(xc), Gpu.F32(y));
        else kernels.SiluForward(Gpu.Stream(x), Gpu.Bf16(xc), Gpu.Bf16(y));
        return Autograd.Record(y, new GpuSiluFunction(xc), x);
    }
}

internal sealed class GpuSiluFunction : Function
{
    private readonly Tensor _x;

    public GpuSiluFunction(Tensor x) => _x = Save(x);

    public override string Name => "silu";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dx = Gpu.EmptyLike(gc);
        var kernels = Gpu.Kernels<SwiGluGpu>(g);
        if (g.DType == DType.F32) kernels.SiluBackward(Gpu.Stream(g), Gpu.F32(_x), Gpu.F32(gc), Gpu.F32(dx));
        else kernels.SiluBackward(Gpu.Stream(g), Gpu.Bf16(_x), Gpu.Bf16(gc), Gpu.Bf16(dx));
        return [dx];
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal static partial class GpuFunctional
{
    /// <summary>Softmax over the last axis on the device (f32 or bf16 storage, f32 math).</summary>
    public static Tensor Softmax(Tensor x)
    {
        var dtype = OpChecks.GpuInputs("softmax", x);
        var (rows, cols) = Functional.SoftmaxShape(x);
        using var xc = x.CopyIfStrided();
        var y = Gpu.EmptyLike(xc);
        var kernels = Gpu.Kernels<SoftmaxGpu>(x);
        if (dtype == DType.F32) kernels.Forward(Gpu.Stream(x), Gpu.F32(xc), Gpu.F32(y), rows, cols);
        else kernels.Forward(Gpu.Stream(x), Gpu.Bf16(xc), Gpu.Bf16(y), rows, cols);
        return Autograd.Record(y, new GpuSoftmaxFunction(y, rows, cols), x);
    }
}

/// <summary>Softmax's backward on the device from the saved output: dx = y ⊙ (g − Σ g ⊙ y).</summary>
internal sealed class GpuSoftmaxFunction : Function
{
    private readonly Tensor _y;
    private readonly int _rows, _cols;

    public GpuSoftmaxFunction(Tensor y, int rows, int cols) => (_y, _rows, _cols) = (Save(y), rows, cols);

    public override string Name => "softmax";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dx = Gpu.EmptyLike(gc);
        var kernels = Gpu.Kernels<SoftmaxGpu>(g);
        if (g.DType == DType.F32) kernels.Backward(Gpu.Stream(g), Gpu.F32(_y), Gpu.F32(gc), Gpu.F32(dx), _rows, _cols);
        else kernels.Backward(Gpu.Stream(g), Gpu.Bf16(_y), Gpu.Bf16(gc), Gpu.Bf16(dx), _rows, _cols);
        return [dx];
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal static partial class GpuFunctional
{
    /// <summary>
    /// RMSNorm on the device: x (…, C) and weight (C) of one dtype (f32 or bf16). The inverse RMS saved for backward
    /// is f32 whatever the storage (a bf16 statistic would cost dx three significant digits).
    /// </summary>
    public static Tensor RmsNorm(Tensor x, Tensor weight, double eps)
    {
        var dtype = OpChecks.GpuInputs("rms_norm", x, weight);
        var (rows, cols) = Functional.RmsNormShape(x, weight, eps);
        using var xc = x.CopyIfStrided();
        using var wc = weight.CopyIfStrided();
        var y = Gpu.EmptyLike(xc);
        using var invRms = Gpu.Empty(x, [rows], DType.F32);
        var kernels = Gpu.Kernels<RmsNormGpu>(x);
        if (dtype == DType.F32)
            kernels.Forward(Gpu.Stream(x), Gpu.F32(xc), Gpu.F32(wc), Gpu.F32(y), Gpu.F32(invRms), rows, cols, (float)eps);
        else
            kernels.Forward(Gpu.Stream(x), Gpu.Bf16(xc), Gpu.Bf16(wc), Gpu.Bf16(y), Gpu.F32(invRms), rows, cols, (float)eps);
        return Autograd.Record(y, new GpuRmsNormFunction(xc, wc, invRms, rows, cols), x, weight);
    }
}

/// <summary>
/// Backward of RMSNorm on the device: dx written, dWeight accumulated into zeros from per-group partials kept in an
/// f32 scratch (summed in a fixed order, so dWeight is deterministic).
/// </summary>
internal sealed class GpuRmsNormFunction : Function
{
    private readonly Tensor _x, _weight, _invRms;
    private readonly int _rows, _cols;

    public GpuRmsNormFunction(Tensor x, Tensor weight, Tensor invRms, int rows, int cols)
    {
        (_x, _weight, _invRms, _rows, _cols) = (Save(x), Save(weight), Save(invRms), rows, cols);
    }

    public override string Name => "rms_norm";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var kernels = Gpu.Kernels<RmsNormGpu>(g);
        var dx = Gpu.EmptyLike(gc);
        var dw = Gpu.Zeros(g, _weight.ShapeArray());
        using var scratch = Gpu.Empty(g, [checked((int)kernels.BackwardScratchLength(_rows, _cols))], DType.F32);
        var stream = Gpu.Stream(g);
        if (g.DType == DType.F32)
            kernels.Backward(stream, Gpu.F32(gc), Gpu.F32(_x), Gpu.F32(_weight), Gpu.F32(_invRms), Gpu.F32(dx), Gpu.F32(dw), Gpu.F32(scratch), _rows, _cols);
        else
            kernels.Backward(stream, Gpu.Bf16(gc), Gpu.Bf16(_x), Gpu.Bf16(_weight), Gpu.F32(_invRms), Gpu.Bf16(dx), Gpu.Bf16(dw), Gpu.F32(scratch), _rows, _cols);
        return [dx, dw];
    }
}

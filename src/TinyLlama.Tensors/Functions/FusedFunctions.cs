using K = TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>Backward of RMSNorm from the saved input and inverse RMS (the kernel accumulates dWeight, so it starts at 0).</summary>
internal sealed class RmsNormFunction : Function
{
    private readonly Tensor _x, _weight, _invRms;
    private readonly int _rows, _cols;

    public RmsNormFunction(Tensor x, Tensor weight, Tensor invRms, int rows, int cols)
    {
        (_x, _weight, _invRms, _rows, _cols) = (Save(x), Save(weight), Save(invRms), rows, cols);
    }

    public override string Name => "rms_norm";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dx = Tensor.Empty(_x.ShapeArray(), g.DType);
        var dw = Tensor.Zeros(_weight.ShapeArray(), g.DType);
        if (g.DType == DType.F32)
            K.RmsNorm.Backward(gc.AsSpan<float>(), _x.AsSpan<float>(), _weight.AsSpan<float>(), _invRms.AsSpan<float>(), dx.AsSpan<float>(), dw.AsSpan<float>(), _rows, _cols);
        else
            K.RmsNorm.Backward(gc.AsSpan<double>(), _x.AsSpan<double>(), _weight.AsSpan<double>(), _invRms.AsSpan<double>(), dx.AsSpan<double>(), dw.AsSpan<double>(), _rows, _cols);
        return [dx, dw];
    }
}

/// <summary>RoPE is a rotation, so its backward is the rotation by the opposite angle.</summary>
internal sealed class RopeFunction : Function
{
    private readonly Tensor _cos, _sin;
    private readonly int _startPos;

    public RopeFunction(Tensor cos, Tensor sin, int startPos) => (_cos, _sin, _startPos) = (Save(cos), Save(sin), startPos);

    public override string Name => "rope";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dx = Tensor.Empty(g.ShapeArray(), g.DType);
        int b = g.Size(0), t = g.Size(1), h = g.Size(2), hs = g.Size(3);
        if (g.DType == DType.F32) K.Rope.Backward(gc.AsSpan<float>(), dx.AsSpan<float>(), b, t, h, hs, _cos.AsSpan<float>(), _sin.AsSpan<float>(), _startPos);
        else K.Rope.Backward(gc.AsSpan<double>(), dx.AsSpan<double>(), b, t, h, hs, _cos.AsSpan<double>(), _sin.AsSpan<double>(), _startPos);
        return [dx];
    }
}

/// <summary>The softmax gradient needs only the output y: dx = y ⊙ (g − Σ g ⊙ y).</summary>
internal sealed class SoftmaxFunction : Function
{
    private readonly Tensor _y;
    private readonly int _rows, _cols;

    public SoftmaxFunction(Tensor y, int rows, int cols) => (_y, _rows, _cols) = (Save(y), rows, cols);

    public override string Name => "softmax";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dx = Tensor.Empty(g.ShapeArray(), g.DType);
        if (g.DType == DType.F32) K.Softmax.Backward(_y.AsSpan<float>(), gc.AsSpan<float>(), dx.AsSpan<float>(), _rows, _cols);
        else K.Softmax.Backward(_y.AsSpan<double>(), gc.AsSpan<double>(), dx.AsSpan<double>(), _rows, _cols);
        return [dx];
    }
}

internal sealed class SiluFunction : Function
{
    private readonly Tensor _x;

    public SiluFunction(Tensor x) => _x = Save(x);

    public override string Name => "silu";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dx = Tensor.Empty(g.ShapeArray(), g.DType);
        if (g.DType == DType.F32) K.SwiGlu.SiluBackward(_x.AsSpan<float>(), gc.AsSpan<float>(), dx.AsSpan<float>());
        else K.SwiGlu.SiluBackward(_x.AsSpan<double>(), gc.AsSpan<double>(), dx.AsSpan<double>());
        return [dx];
    }
}

internal sealed class SwiGluFunction : Function
{
    private readonly Tensor _gate, _up;

    public SwiGluFunction(Tensor gate, Tensor up) => (_gate, _up) = (Save(gate), Save(up));

    public override string Name => "swiglu";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dGate = Tensor.Empty(g.ShapeArray(), g.DType);
        var dUp = Tensor.Empty(g.ShapeArray(), g.DType);
        if (g.DType == DType.F32) K.SwiGlu.Backward(_gate.AsSpan<float>(), _up.AsSpan<float>(), gc.AsSpan<float>(), dGate.AsSpan<float>(), dUp.AsSpan<float>());
        else K.SwiGlu.Backward(_gate.AsSpan<double>(), _up.AsSpan<double>(), gc.AsSpan<double>(), dGate.AsSpan<double>(), dUp.AsSpan<double>());
        return [dGate, dUp];
    }
}

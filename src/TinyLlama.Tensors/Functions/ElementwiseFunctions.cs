namespace TinyLlama.Tensors;

/// <summary>a ± b: the gradient flows to both, summed over the axes each operand was broadcast along.</summary>
internal sealed class AddFunction(int[] aShape, int[] bShape, bool subtract) : Function
{
    public override string Name => subtract ? "sub" : "add";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        var ga = NeedsGrad(0) ? g.SumToShape(aShape) : null;
        Tensor? gb = null;
        if (NeedsGrad(1))
        {
            if (!subtract) gb = g.SumToShape(bShape);
            else { using var s = g.SumToShape(bShape); gb = s.Neg(); }
        }
        return [ga, gb];
    }
}

/// <summary>a · b: da = g · b, db = g · a.</summary>
internal sealed class MulFunction : Function
{
    private readonly Tensor _a, _b;

    public MulFunction(Tensor a, Tensor b)
    {
        _a = Save(a);
        _b = Save(b);
    }

    public override string Name => "mul";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        Tensor? ga = null, gb = null;
        if (NeedsGrad(0)) { using var t = g * _b; ga = t.SumToShape(_a.ShapeArray()); }
        if (NeedsGrad(1)) { using var t = g * _a; gb = t.SumToShape(_b.ShapeArray()); }
        return [ga, gb];
    }
}

/// <summary>a / b: da = g / b, db = −g · a / b².</summary>
internal sealed class DivFunction : Function
{
    private readonly Tensor _a, _b;

    public DivFunction(Tensor a, Tensor b)
    {
        _a = Save(a);
        _b = Save(b);
    }

    public override string Name => "div";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        Tensor? ga = null, gb = null;
        if (NeedsGrad(0)) { using var t = g / _b; ga = t.SumToShape(_a.ShapeArray()); }
        if (NeedsGrad(1))
        {
            using var ratio = _a / _b;
            using var quotient = ratio / _b;
            using var t = g * quotient;
            using var s = t.SumToShape(_b.ShapeArray());
            gb = s.Neg();
        }
        return [ga, gb];
    }
}

internal sealed class ScaleFunction(double scale) : Function
{
    public override string Name => "scale";

    protected internal override Tensor?[] Backward(Tensor g) => [g.Scale(scale)];
}

/// <summary>neg, exp, log, square, sqrt: the derivative from the saved input or output.</summary>
internal sealed class UnaryFunction : Function
{
    private readonly string _name;
    private readonly UnaryKind _kind;
    private readonly Tensor _x, _y;

    public UnaryFunction(string name, UnaryKind kind, Tensor x, Tensor y)
    {
        _name = name;
        _kind = kind;
        _x = Save(x);
        _y = Save(y);
    }

    public override string Name => _name;

    protected internal override Tensor?[] Backward(Tensor g)
    {
        switch (_kind)
        {
            case UnaryKind.Neg: return [g.Neg()];
            case UnaryKind.Exp: return [g * _y];
            case UnaryKind.Log: return [g / _x];
            case UnaryKind.Square: { using var twoX = _x.Scale(2.0); return [g * twoX]; }
            default: { using var twoY = _y.Scale(2.0); return [g / twoY]; }
        }
    }
}

/// <summary>sum/mean: the gradient is broadcast back over the reduced axes (and scaled by 1/count for mean).</summary>
internal sealed class SumFunction(string name, int[] inputShape, int[] keepShape, double scale) : Function
{
    public override string Name => name;

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var kept = g.Reshape(keepShape);
        var expanded = kept.ExpandCopy(inputShape);
        if (scale == 1.0) return [expanded];
        using (expanded) return [expanded.Scale(scale)];
    }
}

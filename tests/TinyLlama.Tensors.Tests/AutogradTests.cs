using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

public class AutogradTests
{
    [Fact]
    public void SharedSubexpression_GradientsAddUp()
    {
        // y = (x·x) + (x·x) shares the product node; dy/dx = 4x.
        using var x = Tensor.FromArray([1.0, -2.0, 3.0]).RequireGrad();
        using var p = x * x;
        using var y = p + p;
        using var s = y.Sum();
        s.Backward();
        Assert.Equal(new double[] { 4, -8, 12 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void ParameterUsedTwice_AndGradientsAccumulateAcrossBackwardCalls()
    {
        using var w = Tensor.FromArray([2.0, 3.0]).RequireGrad();
        using var a = Tensor.FromArray([1.0, 1.0]);
        for (int step = 0; step < 2; step++)
        {
            using var y = (w * a) * w;  // w² → 2w
            using var s = y.Sum();
            s.Backward();
        }
        Assert.Equal(new double[] { 8, 12 }, w.Grad!.ToDoubleArray());
        w.ZeroGrad();
        Assert.Null(w.Grad);
    }

    [Fact]
    public void NoGrad_RecordsNothing()
    {
        using var x = Tensor.FromArray([1.0, 2.0]).RequireGrad();
        using (GradMode.NoGrad())
        {
            using var y = x * 3.0;
            Assert.False(y.RequiresGrad);
            Assert.Null(y.GradFn);
        }
        using var z = x * 3.0;
        Assert.True(z.RequiresGrad);
    }

    [Fact]
    public void ViewsInTheGraph_RouteGradientsToTheRightElements()
    {
        using var x = Tensor.Arange(6, DType.F64).Reshape(2, 3).RequireGrad();
        using var t = x.Transpose();             // (3, 2)
        using var n = t.Narrow(0, 1, 2);         // rows 1..2 of the transpose = columns 1..2 of x
        using var w = Tensor.FromArray([1.0, 10.0, 100.0, 1000.0], 2, 2);
        using var y = n * w;
        using var s = y.Sum();
        s.Backward();
        Assert.Equal(new double[] { 0, 1, 100, 0, 10, 1000 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void BackwardOfNonScalar_WithoutGradient_Throws()
    {
        using var x = Tensor.Ones([2, 3], DType.F64).RequireGrad();
        using var y = x * 2.0;
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("scalar", e.Message);
        using var g = Tensor.Ones([2, 3], DType.F64);
        y.Backward(g);
        Assert.Equal(new double[] { 2, 2, 2, 2, 2, 2 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void SecondBackward_ThroughAFreedGraph_Throws_UnlessRetained()
    {
        using var x = Tensor.FromArray([1.0, 2.0]).RequireGrad();
        using var y = (x * x).Sum();
        y.Backward(retainGraph: true);
        y.Backward();
        Assert.Equal(new double[] { 4, 8 }, x.Grad!.ToDoubleArray());
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("retainGraph", e.Message);
    }

    [Fact]
    public void CallerDisposingIntermediates_DoesNotBreakBackward()
    {
        using var x = Tensor.FromArray([1.0, 2.0, 3.0]).RequireGrad();
        var e = x.Exp();
        var y = e * x;
        e.Dispose();
        using var s = y.Sum();
        y.Dispose();
        s.Backward();
        var xs = x.ToDoubleArray();
        var g = x.Grad!.ToDoubleArray();
        for (int i = 0; i < 3; i++) Assert.Equal(Math.Exp(xs[i]) * (1 + xs[i]), g[i], 12);
    }
}

/// <summary>A user-defined op needs only Forward and Backward.</summary>
public class CustomFunctionTests
{
    private sealed class Cube : Function
    {
        private Tensor? _x;

        public override string Name => "cube";

        protected override Tensor Forward(Tensor[] inputs)
        {
            _x = Save(inputs[0]);
            using var square = inputs[0] * inputs[0];
            return square * inputs[0];
        }

        protected internal override Tensor?[] Backward(Tensor g)
        {
            using var square = _x! * _x!;
            using var three = square * 3.0;
            return [g * three];
        }
    }

    [Fact]
    public void CustomFunction_PassesGradientCheck() =>
        GradCheck.Check(x => new Cube().Apply(x[0]), [GradCheck.Randn(new Random(9), 7)]);
}

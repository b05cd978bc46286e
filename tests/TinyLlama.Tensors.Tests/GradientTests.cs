using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

/// <summary>Every differentiable op against central finite differences in double, at odd sizes.</summary>
public class GradientTests
{
    private readonly Random _rng = new(42);

    private Tensor R(params int[] shape) => GradCheck.Randn(_rng, shape);

    [Fact] public void Add_WithBroadcast() => GradCheck.Check(x => x[0] + x[1], [R(3, 1, 5), R(4, 1)]);
    [Fact] public void Sub_WithBroadcast() => GradCheck.Check(x => x[0] - x[1], [R(7), R(2, 7)]);
    [Fact] public void Mul_WithBroadcast() => GradCheck.Check(x => x[0] * x[1], [R(2, 3, 1), R(1, 3, 4)]);

    [Fact]
    public void Div_WithBroadcast()
    {
        using var away = Tensor.Full([1, 5], 3.0, DType.F64);
        var b = R(1, 5);
        using (GradMode.NoGrad()) b.AddInPlace(away); // keep the divisor away from 0
        GradCheck.Check(x => x[0] / x[1], [R(3, 5), b]);
    }

    [Fact] public void ScaleAndAddScalar() => GradCheck.Check(x => (x[0] * 2.5 + 1.0) - 0.5, [R(7)]);
    [Fact] public void Neg() => GradCheck.Check(x => -x[0], [R(7)]);
    [Fact] public void Exp() => GradCheck.Check(x => x[0].Exp(), [R(7)]);
    [Fact] public void Square() => GradCheck.Check(x => x[0].Square(), [R(7)]);

    [Fact]
    public void LogAndSqrt()
    {
        var x = Tensor.Rand([7], _rng, 0.5, 2.0, DType.F64).RequireGrad();
        GradCheck.Check(t => t[0].Log(), [x]);
        GradCheck.Check(t => t[0].Sqrt(), [x]);
    }

    [Fact] public void Sum_OverAxes() => GradCheck.Check(x => x[0].Sum([0, 2]), [R(3, 4, 5)]);
    [Fact] public void Mean_KeepDim() => GradCheck.Check(x => x[0].Mean(1, keepDim: true), [R(3, 4, 5)]);
    [Fact] public void Reshape_Permute_Narrow() => GradCheck.Check(x => x[0].Reshape(4, 3, 2).Permute(2, 0, 1).Narrow(1, 1, 2), [R(2, 3, 4)]);
    [Fact] public void Transpose_ThenContiguous() => GradCheck.Check(x => x[0].Transpose(0, 1).Contiguous(), [R(3, 5)]);
    [Fact] public void CastToF32AndBack_PassesGradient() => GradCheck.Check(x => x[0].To(DType.F32).To(DType.F64), [R(5)], h: 1e-2, tolerance: 1e-3);

    [Fact] public void MatMul_2D() => GradCheck.Check(x => x[0].MatMul(x[1]), [R(7, 5), R(5, 3)]);
    [Fact] public void MatMul_TransposedOperands() => GradCheck.Check(x => x[0].Transpose().MatMul(x[1].Transpose()), [R(5, 7), R(3, 5)]);
    [Fact] public void MatMul_BatchedWithSharedRight() => GradCheck.Check(x => x[0].MatMul(x[1]), [R(2, 3, 4), R(4, 5)]);
    [Fact] public void MatMul_BatchedBroadcast() => GradCheck.Check(x => x[0].MatMul(x[1]), [R(2, 1, 3, 4), R(3, 4, 2)]);

    [Fact]
    public void Embedding_RepeatedIds()
    {
        using var ids = Tensor.FromArray([3, 0, 3, 1, 4, 3], 2, 3);
        GradCheck.Check(x => Functional.Embedding(x[0], ids), [R(5, 4)]);
    }

    [Fact] public void RmsNorm() => GradCheck.Check(x => Functional.RmsNorm(x[0], x[1], 1e-5), [R(3, 7), R(7)]);
    [Fact] public void Softmax() => GradCheck.Check(x => Functional.Softmax(x[0]), [R(3, 7)]);
    [Fact] public void Silu() => GradCheck.Check(x => Functional.Silu(x[0]), [R(33)]);
    [Fact] public void SwiGlu() => GradCheck.Check(x => Functional.SwiGlu(x[0], x[1]), [R(3, 7), R(3, 7)]);

    [Fact]
    public void Rope_WithOffset()
    {
        var (cos, sin) = Functional.RopeTables(8, 6, 10000.0, DType.F64);
        GradCheck.Check(x => Functional.Rope(x[0], cos, sin, startPos: 2), [R(2, 3, 2, 6)]);
        cos.Dispose();
        sin.Dispose();
    }

    [Fact]
    public void CausalAttention_GroupedQuery() =>
        GradCheck.Check(x => Functional.CausalAttention(x[0], x[1], x[2]), [R(2, 4, 5, 3), R(2, 2, 5, 3), R(2, 2, 5, 3)]);

    [Fact]
    public void CrossEntropy_WithIgnoredTarget()
    {
        using var targets = Tensor.FromArray([2, -100, 0, 6, 6], 5);
        GradCheck.Check(x => Functional.CrossEntropy(x[0], targets), [R(5, 7)]);
    }

    [Fact]
    public void LinearLayerChain_ThroughAFewOps()
    {
        // A miniature Llama MLP: rmsnorm → two projections → swiglu → projection → loss.
        using var targets = Tensor.FromArray([1, 4, 0], 3);
        GradCheck.Check(x =>
        {
            var h = Functional.RmsNorm(x[0], x[1]);
            var mlp = Functional.SwiGlu(h.MatMul(x[2].Transpose()), h.MatMul(x[3].Transpose())).MatMul(x[4].Transpose());
            return Functional.CrossEntropy(h + mlp, targets);
        }, [R(3, 5), R(5), R(6, 5), R(6, 5), R(5, 6)]);
    }
}

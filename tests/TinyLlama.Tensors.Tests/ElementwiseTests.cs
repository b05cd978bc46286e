using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

public class ElementwiseTests
{
    [Fact]
    public void Broadcasting_MatchesScalarLoops()
    {
        var rng = new Random(1);
        using var a = Tensor.Randn([4, 1, 7], rng);
        using var b = Tensor.Randn([3, 1], rng);
        using var sum = a + b;
        using var quotient = a / b;
        Assert.Equal([4, 3, 7], sum.ShapeArray());
        var av = a.ToDoubleArray(); var bv = b.ToDoubleArray();
        var sv = sum.ToDoubleArray(); var qv = quotient.ToDoubleArray();
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 7; k++)
                {
                    int o = (i * 3 + j) * 7 + k;
                    Assert.Equal((float)(av[i * 7 + k] + bv[j]), (float)sv[o]);
                    Assert.Equal((float)(av[i * 7 + k] / bv[j]), (float)qv[o], 5);
                }
    }

    [Fact]
    public void StridedOperands_GiveTheSameResultAsContiguousOnes()
    {
        var rng = new Random(2);
        using var a = Tensor.Randn([5, 6], rng);
        using var b = Tensor.Randn([6, 5], rng);
        using var bt = b.Transpose();
        using var btc = bt.Contiguous();
        using var p1 = a * bt;
        using var p2 = a * btc;
        Assert.Equal(p2.ToDoubleArray(), p1.ToDoubleArray());
    }

    [Fact]
    public void SumAndMean_OverAxes()
    {
        using var a = Tensor.Arange(24, DType.F64).Reshape(2, 3, 4);
        using var s = a.Sum([0, 2]);
        Assert.Equal(new double[] { 0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 + 5 + 6 + 7 + 16 + 17 + 18 + 19, 8 + 9 + 10 + 11 + 20 + 21 + 22 + 23 }, s.ToDoubleArray());
        using var m = a.Mean(-1, keepDim: true);
        Assert.Equal([2, 3, 1], m.ShapeArray());
        Assert.Equal(1.5, m.ToDoubleArray()[0]);
        using var all = a.Sum();
        Assert.Equal(276, all.Item());
    }

    [Fact]
    public void ShapeMismatch_NamesOpAndShapes()
    {
        using var a = Tensor.Zeros([2, 3]);
        using var b = Tensor.Zeros([4, 3]);
        var e = Assert.Throws<ArgumentException>(() => a + b);
        Assert.Contains("add", e.Message);
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("(4, 3)", e.Message);
    }

    [Fact]
    public void WrongDType_NamesOpAndDTypes()
    {
        using var a = Tensor.Zeros([2]);
        using var b = Tensor.Zeros([2], DType.F64);
        var e = Assert.Throws<ArgumentException>(() => a * b);
        Assert.Contains("mul", e.Message);
        Assert.Contains("f32", e.Message);
        Assert.Contains("f64", e.Message);
        using var ids = Tensor.Zeros([2], DType.I32);
        var e2 = Assert.Throws<ArgumentException>(() => ids.Exp());
        Assert.Contains("exp", e2.Message);
        Assert.Contains("i32", e2.Message);
    }

    [Fact]
    public void Casts_RoundTripAndRound()
    {
        using var a = Tensor.FromArray([1.0f, -2.5f, 3.00390625f, 65504f]);
        using var h = a.To(DType.BF16);
        Assert.Equal(DType.BF16, h.DType);
        // 3.00390625 = 3 + 2^-8 lies exactly between two bf16 values (3 and 3.015625): ties go to even (3).
        Assert.Equal(new double[] { 1, -2.5, 3, 65536 }, h.ToDoubleArray());
        using var back = h.To(DType.F32);
        Assert.Equal(DType.F32, back.DType);
        using var f16 = a.To(DType.F16);
        Assert.Equal(65504, f16.ToDoubleArray()[3]);
    }
}

using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

/// <summary>The f32 fast paths (packed GEMM, SIMD kernels) give the same gradients as the f64 paths that the gradient checks cover.</summary>
public class PrecisionTests
{
    [Theory]
    [InlineData(256, 1, 64)]
    [InlineData(33, 7, 130)]
    public void MlpGradients_F32MatchF64(int batch, int inFeatures, int hidden)
    {
        var rng = new Random(3);
        using var x64 = Tensor.Rand([batch, inFeatures], rng, -1, 1, DType.F64);
        using var y64 = Tensor.Rand([batch, 1], rng, -1, 1, DType.F64);
        using var w1 = Tensor.Randn([hidden, inFeatures], rng, 0.5, dtype: DType.F64);
        using var b1 = Tensor.Randn([hidden], rng, 0.5, dtype: DType.F64);
        using var w2 = Tensor.Randn([1, hidden], rng, 0.5, dtype: DType.F64);

        double[][] Grads(DType dtype)
        {
            using var scope = new TensorScope();
            var ps = new[] { w1.To(dtype).RequireGrad(), b1.To(dtype).RequireGrad(), w2.To(dtype).RequireGrad() };
            var x = x64.To(dtype);
            var y = y64.To(dtype);
            var h = Functional.Silu(x.MatMul(ps[0].Transpose()) + ps[1]);
            var loss = (h.MatMul(ps[2].Transpose()) - y).Square().Mean();
            loss.Backward();
            return ps.Select(p => p.Grad!.ToDoubleArray()).ToArray();
        }

        var g32 = Grads(DType.F32);
        var g64 = Grads(DType.F64);
        for (int i = 0; i < 3; i++)
        {
            double scale = Math.Max(1e-6, g64[i].Max(Math.Abs));
            double err = g32[i].Zip(g64[i], (a, b) => Math.Abs(a - b)).Max();
            Assert.True(err / scale < 1e-4, $"parameter {i}: f32 vs f64 gradient relative error {err / scale:E2}");
        }
    }
}

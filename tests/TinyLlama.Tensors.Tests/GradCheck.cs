using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

/// <summary>
/// Finite-difference gradient checks in double: the analytic gradient from Backward must match the central
/// difference (f(x + h) − f(x − h)) / 2h of a random projection of the output, for every input element.
/// </summary>
internal static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double h = 1e-6, double tolerance = 1e-6, int seed = 7)
    {
        foreach (var x in inputs)
            if (x.DType == DType.F64 && !x.RequiresGrad) x.RequiresGrad = true;

        // Intermediates of f live in a scope; only its result is kept.
        Tensor Eval()
        {
            using var scope = new TensorScope();
            return scope.Keep(f(inputs));
        }

        // A random projection makes a scalar that depends on every output element with a distinct weight.
        Tensor weights;
        using (GradMode.NoGrad())
        using (var probe = Eval())
            weights = Tensor.Randn(probe.ShapeArray(), new Random(seed), dtype: DType.F64);

        double Objective()
        {
            using var _ = GradMode.NoGrad();
            using var y = Eval();
            using var wy = y * weights;
            using var s = wy.Sum();
            return s.Item();
        }

        foreach (var x in inputs) x.ZeroGrad();
        using (var y = Eval())
        using (var wy = y * weights)
        using (var s = wy.Sum())
            s.Backward();

        for (int i = 0; i < inputs.Length; i++)
        {
            var x = inputs[i];
            if (!x.RequiresGrad) continue;
            Assert.True(x.Grad is not null, $"input {i} {x.ShapeText} received no gradient");
            var analytic = x.Grad!.ToDoubleArray();
            var data = x.AsSpan<double>();
            double maxError = 0, scale = 1e-3;
            for (int j = 0; j < data.Length; j++)
            {
                double saved = data[j];
                data[j] = saved + h;
                double plus = Objective();
                data[j] = saved - h;
                double minus = Objective();
                data[j] = saved;
                double numeric = (plus - minus) / (2 * h);
                Assert.False(double.IsNaN(analytic[j]), $"input {i} element {j}: analytic gradient is NaN");
                maxError = Math.Max(maxError, Math.Abs(numeric - analytic[j]));
                scale = Math.Max(scale, Math.Abs(numeric));
            }
            Assert.True(maxError / scale <= tolerance,
                $"input {i} {x.ShapeText}: max |numeric − analytic| = {maxError:E3}, relative {maxError / scale:E3} > {tolerance:E1}");
        }
        weights.Dispose();
    }

    public static Tensor Randn(Random rng, params int[] shape) => Tensor.Randn(shape, rng, dtype: DType.F64).RequireGrad();
}

using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class CpuChecks
{
    private const float RmsNormEps = 1e-5f;

    private delegate void RmsNormForwardFunction(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y,
        Span<float> invRms, int rows, int cols, float eps);
    private delegate void RmsNormBackwardFunction(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> invRms, Span<float> dx, Span<float> dWeight, int rows, int cols);
    private delegate void SoftmaxForwardFunction(ReadOnlySpan<float> x, Span<float> y, int rows, int cols);
    private delegate void SoftmaxBackwardFunction(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, int rows, int cols);

    private static IEnumerable<KernelCheck> NormalizationChecks(SelfTestShapes shapes, int seed)
    {
        yield return RmsNormForwardCheck(shapes, seed);
        yield return RmsNormBackwardCheck(shapes, seed);
        yield return SoftmaxForwardCheck(shapes, seed);
        yield return SoftmaxBackwardCheck(shapes, seed);
    }

    private static KernelCheck RmsNormForwardCheck(SelfTestShapes shapes, int seed)
    {
        const string op = "rmsnorm forward";
        var (rows, cols) = shapes.RmsNorm;
        var random = new RandomData(seed, op);
        var x = random.Uniform(rows * cols); // (rows, cols)
        var weight = random.Uniform(cols);   // (cols)

        IReadOnlyList<float[]> Run(RmsNormForwardFunction forward)
        {
            var y = RandomData.Poisoned(rows * cols);
            var invRms = RandomData.Poisoned(rows);
            forward(x, weight, y, invRms, rows, cols, RmsNormEps);
            return [y, invRms];
        }
        return new KernelCheck(op, RowsCols(rows, cols), Tolerances.ForSum(cols),
            () => Run(RmsNorm.Forward), () => Run(RmsNorm.ForwardReference));
    }

    private static KernelCheck RmsNormBackwardCheck(SelfTestShapes shapes, int seed)
    {
        const string op = "rmsnorm backward";
        var (rows, cols) = shapes.RmsNorm;
        var random = new RandomData(seed, op);
        var x = random.Uniform(rows * cols);
        var weight = random.Uniform(cols);
        var dy = random.Uniform(rows * cols);
        var initialDWeight = random.Uniform(cols); // accumulated into (+=)
        var invRms = new Lazy<float[]>(() =>
        {
            var saved = new float[rows];
            RmsNorm.ForwardReference<float>(x, weight, new float[rows * cols], saved, rows, cols, RmsNormEps);
            return saved;
        });

        IReadOnlyList<float[]> Run(RmsNormBackwardFunction backward)
        {
            var dx = RandomData.Poisoned(rows * cols);
            var dWeight = (float[])initialDWeight.Clone();
            backward(dy, x, weight, invRms.Value, dx, dWeight, rows, cols);
            return [dx, dWeight];
        }
        // dWeight sums over rows, dx over cols.
        return new KernelCheck(op, RowsCols(rows, cols), Tolerances.ForSum(Math.Max(rows, cols)),
            () => Run(RmsNorm.Backward), () => Run(RmsNorm.BackwardReference));
    }

    private static KernelCheck SoftmaxForwardCheck(SelfTestShapes shapes, int seed)
    {
        const string op = "softmax forward";
        var (rows, cols) = shapes.Softmax;
        var x = new RandomData(seed, op).Uniform(rows * cols);

        IReadOnlyList<float[]> Run(SoftmaxForwardFunction forward)
        {
            var y = RandomData.Poisoned(rows * cols);
            forward(x, y, rows, cols);
            return [y];
        }
        return new KernelCheck(op, RowsCols(rows, cols), Tolerances.ForSum(cols),
            () => Run(Softmax.Forward), () => Run(Softmax.ForwardReference));
    }

    private static KernelCheck SoftmaxBackwardCheck(SelfTestShapes shapes, int seed)
    {
        const string op = "softmax backward";
        var (rows, cols) = shapes.Softmax;
        var random = new RandomData(seed, op);
        var x = random.Uniform(rows * cols);
        var dy = random.Uniform(rows * cols);
        var y = new Lazy<float[]>(() =>
        {
            var saved = new float[rows * cols];
            Softmax.ForwardReference<float>(x, saved, rows, cols);
            return saved;
        });

        IReadOnlyList<float[]> Run(SoftmaxBackwardFunction backward)
        {
            var dx = RandomData.Poisoned(rows * cols);
            backward(y.Value, dy, dx, rows, cols);
            return [dx];
        }
        return new KernelCheck(op, RowsCols(rows, cols), Tolerances.ForSum(cols),
            () => Run(Softmax.Backward), () => Run(Softmax.BackwardReference));
    }
}

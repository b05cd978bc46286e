using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class CpuChecks
{
    private delegate void SiluForwardFunction(ReadOnlySpan<float> x, Span<float> y);
    private delegate void SiluBackwardFunction(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx);
    private delegate void SwiGluForwardFunction(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y);
    private delegate void SwiGluBackwardFunction(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> dy,
        Span<float> dGate, Span<float> dUp);

    private static IEnumerable<KernelCheck> SwiGluChecks(SelfTestShapes shapes, int seed)
    {
        var (rows, cols) = shapes.Elementwise;
        int n = rows * cols;
        string shape = RowsCols(rows, cols);

        {
            const string op = "silu forward";
            var x = new RandomData(seed, op).Uniform(n);
            IReadOnlyList<float[]> Run(SiluForwardFunction silu)
            {
                var y = RandomData.Poisoned(n);
                silu(x, y);
                return [y];
            }
            yield return new KernelCheck(op, shape, Tolerances.Elementwise,
                () => Run(SwiGlu.SiluForward), () => Run(SwiGlu.SiluForwardReference));
        }
        {
            const string op = "silu backward";
            var random = new RandomData(seed, op);
            var x = random.Uniform(n);
            var dy = random.Uniform(n);
            IReadOnlyList<float[]> Run(SiluBackwardFunction silu)
            {
                var dx = RandomData.Poisoned(n);
                silu(x, dy, dx);
                return [dx];
            }
            yield return new KernelCheck(op, shape, Tolerances.Elementwise,
                () => Run(SwiGlu.SiluBackward), () => Run(SwiGlu.SiluBackwardReference));
        }
        {
            const string op = "swiglu forward";
            var random = new RandomData(seed, op);
            var gate = random.Uniform(n);
            var up = random.Uniform(n);
            IReadOnlyList<float[]> Run(SwiGluForwardFunction swiglu)
            {
                var y = RandomData.Poisoned(n);
                swiglu(gate, up, y);
                return [y];
            }
            yield return new KernelCheck(op, shape, Tolerances.Elementwise,
                () => Run(SwiGlu.Forward), () => Run(SwiGlu.ForwardReference));
        }
        {
            const string op = "swiglu backward";
            var random = new RandomData(seed, op);
            var gate = random.Uniform(n);
            var up = random.Uniform(n);
            var dy = random.Uniform(n);
            IReadOnlyList<float[]> Run(SwiGluBackwardFunction swiglu)
            {
                var dGate = RandomData.Poisoned(n);
                var dUp = RandomData.Poisoned(n);
                swiglu(gate, up, dy, dGate, dUp);
                return [dGate, dUp];
            }
            yield return new KernelCheck(op, shape, Tolerances.Elementwise,
                () => Run(SwiGlu.Backward), () => Run(SwiGlu.BackwardReference));
        }
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    private const float RmsNormEps = 1e-5f;

    private static IEnumerable<KernelCheck> NormalizationChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        foreach (var (bf16, label) in Storages)
        {
            yield return RmsNormForward(device, shapes, seed, bf16, label);
            yield return RmsNormBackward(device, shapes, seed, bf16, label);
        }
        foreach (var (bf16, label) in Storages)
        {
            yield return SoftmaxForward(device, shapes, seed, bf16, label);
            yield return SoftmaxBackward(device, shapes, seed, bf16, label);
        }
    }

    private static string RowsCols(int rows, int cols) => $"rows={rows} cols={cols}";

    private static KernelCheck RmsNormForward(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"rmsnorm forward {label} (gpu)";
        var (rows, cols) = shapes.RmsNorm;
        var random = new RandomData(seed, op);
        var x = random.Uniform(rows * cols); // (rows, cols)
        var weight = random.Uniform(cols);   // (cols)
        return new KernelCheck(op, RowsCols(rows, cols), Tolerance(bf16, Tolerances.ForSum(cols)),
            () =>
            {
                using var gpu = new GpuScope(device);
                var dx = gpu.Upload(x, bf16);
                var dw = gpu.Upload(weight, bf16);
                var y = gpu.Poisoned(x.Length, bf16);
                var invRms = gpu.Poisoned(rows, bf16: false);
                var kernel = device.Kernels.Get<RmsNormGpu>();
                if (bf16) kernel.Forward(device.Stream, dx.Bf16View, dw.Bf16View, y.Bf16View, invRms.F32, rows, cols, RmsNormEps);
                else kernel.Forward(device.Stream, dx.F32, dw.F32, y.F32, invRms.F32, rows, cols, RmsNormEps);
                return [gpu.Download(y), gpu.Download(invRms)];
            },
            () =>
            {
                var y = RandomData.Poisoned(x.Length);
                var invRms = RandomData.Poisoned(rows);
                RmsNorm.Forward<float>(GpuScope.AsStored(x, bf16), GpuScope.AsStored(weight, bf16), y, invRms, rows, cols, RmsNormEps);
                return [y, invRms];
            });
    }

    private static KernelCheck RmsNormBackward(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"rmsnorm backward {label} (gpu)";
        var (rows, cols) = shapes.RmsNorm;
        var random = new RandomData(seed, op);
        var x = GpuScope.AsStored(random.Uniform(rows * cols), bf16);
        var weight = GpuScope.AsStored(random.Uniform(cols), bf16);
        var dy = GpuScope.AsStored(random.Uniform(rows * cols), bf16);
        var initialDWeight = GpuScope.AsStored(random.Uniform(cols), bf16); // accumulated into (+=)
        // The saved statistic comes from the CPU forward on the stored inputs, so the row fails only for backward's bugs.
        var invRms = new Lazy<float[]>(() =>
        {
            var saved = new float[rows];
            RmsNorm.Forward<float>(x, weight, new float[rows * cols], saved, rows, cols, RmsNormEps);
            return saved;
        });
        return new KernelCheck(op, RowsCols(rows, cols), Tolerance(bf16, Tolerances.ForSum(Math.Max(rows, cols))),
            () =>
            {
                using var gpu = new GpuScope(device);
                var kernel = device.Kernels.Get<RmsNormGpu>();
                var gx = gpu.Upload(x, bf16);
                var gw = gpu.Upload(weight, bf16);
                var gdy = gpu.Upload(dy, bf16);
                var gInv = gpu.Upload(invRms.Value, bf16: false);
                var dx = gpu.Poisoned(x.Length, bf16);
                var dWeight = gpu.Upload(initialDWeight, bf16);
                var scratch = gpu.Poisoned(kernel.BackwardScratchLength(rows, cols), bf16: false);
                if (bf16)
                    kernel.Backward(device.Stream, gdy.Bf16View, gx.Bf16View, gw.Bf16View, gInv.F32, dx.Bf16View, dWeight.Bf16View, scratch.F32, rows, cols);
                else
                    kernel.Backward(device.Stream, gdy.F32, gx.F32, gw.F32, gInv.F32, dx.F32, dWeight.F32, scratch.F32, rows, cols);
                return [gpu.Download(dx), gpu.Download(dWeight)];
            },
            () =>
            {
                var dx = RandomData.Poisoned(x.Length);
                var dWeight = (float[])initialDWeight.Clone();
                RmsNorm.Backward<float>(dy, x, weight, invRms.Value, dx, dWeight, rows, cols);
                return [dx, dWeight];
            });
    }

    private static KernelCheck SoftmaxForward(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"softmax forward {label} (gpu)";
        var (rows, cols) = shapes.Softmax;
        var x = GpuScope.AsStored(new RandomData(seed, op).Uniform(rows * cols), bf16);
        return new KernelCheck(op, RowsCols(rows, cols), Tolerance(bf16, Tolerances.ForSum(cols)),
            () =>
            {
                using var gpu = new GpuScope(device);
                var gx = gpu.Upload(x, bf16);
                var y = gpu.Poisoned(x.Length, bf16);
                var kernel = device.Kernels.Get<SoftmaxGpu>();
                if (bf16) kernel.Forward(device.Stream, gx.Bf16View, y.Bf16View, rows, cols);
                else kernel.Forward(device.Stream, gx.F32, y.F32, rows, cols);
                return [gpu.Download(y)];
            },
            () =>
            {
                var y = RandomData.Poisoned(x.Length);
                Softmax.Forward<float>(x, y, rows, cols);
                return [y];
            });
    }

    private static KernelCheck SoftmaxBackward(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"softmax backward {label} (gpu)";
        var (rows, cols) = shapes.Softmax;
        var random = new RandomData(seed, op);
        var x = random.Uniform(rows * cols);
        var dy = GpuScope.AsStored(random.Uniform(rows * cols), bf16);
        var y = new Lazy<float[]>(() =>
        {
            var saved = new float[rows * cols];
            Softmax.Forward<float>(x, saved, rows, cols);
            return GpuScope.AsStored(saved, bf16);
        });
        return new KernelCheck(op, RowsCols(rows, cols), Tolerance(bf16, Tolerances.ForSum(cols)),
            () =>
            {
                using var gpu = new GpuScope(device);
                var gy = gpu.Upload(y.Value, bf16);
                var gdy = gpu.Upload(dy, bf16);
                var dx = gpu.Poisoned(x.Length, bf16);
                var kernel = device.Kernels.Get<SoftmaxGpu>();
                if (bf16) kernel.Backward(device.Stream, gy.Bf16View, gdy.Bf16View, dx.Bf16View, rows, cols);
                else kernel.Backward(device.Stream, gy.F32, gdy.F32, dx.F32, rows, cols);
                return [gpu.Download(dx)];
            },
            () =>
            {
                var dx = RandomData.Poisoned(x.Length);
                Softmax.Backward<float>(y.Value, dy, dx, rows, cols);
                return [dx];
            });
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    private static IEnumerable<KernelCheck> SwiGluChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        var (rows, cols) = shapes.Elementwise;
        int n = rows * cols;
        foreach (var (bf16, label) in Storages)
        {
            string forwardOp = $"swiglu forward {label} (gpu)";
            var random = new RandomData(seed, forwardOp);
            var gate = GpuScope.AsStored(random.Uniform(n), bf16);
            var up = GpuScope.AsStored(random.Uniform(n), bf16);
            yield return new KernelCheck(forwardOp, RowsCols(rows, cols), Tolerance(bf16, Tolerances.Elementwise),
                () =>
                {
                    using var gpu = new GpuScope(device);
                    var gg = gpu.Upload(gate, bf16);
                    var gu = gpu.Upload(up, bf16);
                    var y = gpu.Poisoned(n, bf16);
                    var kernel = device.Kernels.Get<SwiGluGpu>();
                    if (bf16) kernel.Forward(device.Stream, gg.Bf16View, gu.Bf16View, y.Bf16View);
                    else kernel.Forward(device.Stream, gg.F32, gu.F32, y.F32);
                    return [gpu.Download(y)];
                },
                () =>
                {
                    var y = RandomData.Poisoned(n);
                    SwiGlu.Forward<float>(gate, up, y);
                    return [y];
                });

            string backwardOp = $"swiglu backward {label} (gpu)";
            var dy = GpuScope.AsStored(new RandomData(seed, backwardOp).Uniform(n), bf16);
            yield return new KernelCheck(backwardOp, RowsCols(rows, cols), Tolerance(bf16, Tolerances.Elementwise),
                () =>
                {
                    using var gpu = new GpuScope(device);
                    var gg = gpu.Upload(gate, bf16);
                    var gu = gpu.Upload(up, bf16);
                    var gdy = gpu.Upload(dy, bf16);
                    var dGate = gpu.Poisoned(n, bf16);
                    var dUp = gpu.Poisoned(n, bf16);
                    var kernel = device.Kernels.Get<SwiGluGpu>();
                    if (bf16) kernel.Backward(device.Stream, gg.Bf16View, gu.Bf16View, gdy.Bf16View, dGate.Bf16View, dUp.Bf16View);
                    else kernel.Backward(device.Stream, gg.F32, gu.F32, gdy.F32, dGate.F32, dUp.F32);
                    return [gpu.Download(dGate), gpu.Download(dUp)];
                },
                () =>
                {
                    var dGate = RandomData.Poisoned(n);
                    var dUp = RandomData.Poisoned(n);
                    SwiGlu.Backward<float>(gate, up, dy, dGate, dUp);
                    return [dGate, dUp];
                });
        }
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    private const float Lr = 1e-3f, Beta1 = 0.9f, Beta2 = 0.95f, AdamEps = 1e-8f, WeightDecay = 0.1f;
    private const int AdamStep = 3;

    /// <summary>
    /// AdamW (f32 master weights and moments; f32 or bf16 gradients; with and without the bf16 copy of the updated
    /// weights) and the global grad-norm clip. The bf16 copy is held to the bf16 tolerance: one rounding of a value
    /// that differs from the reference's in its last f32 bit may land on the neighbouring bf16.
    /// </summary>
    private static IEnumerable<KernelCheck> OptimizerChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        yield return AdamWCheck(device, shapes, seed, bf16Grads: false, bf16Copy: false);
        yield return AdamWCheck(device, shapes, seed, bf16Grads: false, bf16Copy: true);
        yield return AdamWCheck(device, shapes, seed, bf16Grads: true, bf16Copy: true);
        foreach (var (bf16, label) in Storages)
            yield return GradNormClipCheck(device, shapes, seed, bf16, label);
    }

    private static KernelCheck AdamWCheck(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16Grads, bool bf16Copy)
    {
        string op = $"adamw step {(bf16Grads ? "bf16" : "f32")} grads{(bf16Copy ? " + bf16 param copy" : "")} (gpu)";
        int n = shapes.AdamWCount;
        var random = new RandomData(seed, op);
        var param = random.Uniform(n);
        var grad = GpuScope.AsStored(random.Uniform(n), bf16Grads);
        var m = random.Uniform(n);
        var v = random.Uniform(n).Select(MathF.Abs).ToArray(); // a second moment is never negative
        return new KernelCheck(op, $"n={n} step={AdamStep}", bf16Copy ? Bf16Tolerance : Tolerances.Elementwise,
            () =>
            {
                using var gpu = new GpuScope(device);
                var gp = gpu.Upload(param, bf16: false);
                var gg = gpu.Upload(grad, bf16Grads);
                var gm = gpu.Upload(m, bf16: false);
                var gv = gpu.Upload(v, bf16: false);
                var copy = bf16Copy ? gpu.Poisoned(n, bf16: true) : null;
                var kernel = device.Kernels.Get<AdamWGpu>();
                var copyView = copy?.Bf16View ?? default;
                if (bf16Grads) kernel.Step(device.Stream, gp.F32, gg.Bf16View, gm.F32, gv.F32, Lr, Beta1, Beta2, AdamEps, WeightDecay, AdamStep, copyView);
                else kernel.Step(device.Stream, gp.F32, gg.F32, gm.F32, gv.F32, Lr, Beta1, Beta2, AdamEps, WeightDecay, AdamStep, copyView);
                List<float[]> outputs = [gpu.Download(gp), gpu.Download(gm), gpu.Download(gv)];
                if (copy is not null) outputs.Add(gpu.Download(copy));
                return outputs;
            },
            () =>
            {
                var p = (float[])param.Clone();
                var mm = (float[])m.Clone();
                var vv = (float[])v.Clone();
                AdamW.Step(p, grad, mm, vv, Lr, Beta1, Beta2, AdamEps, WeightDecay, AdamStep);
                List<float[]> outputs = [p, mm, vv];
                if (bf16Copy) outputs.Add(GpuScope.AsStored(p, bf16: true));
                return outputs;
            });
    }

    /// <summary>
    /// The global clip over two gradient buffers of one storage: [norm, clip factor] and the scaled gradients. maxNorm
    /// is 1 and the gradients are uniform in [-1, 1], so the factor is well below 1 and the scaling is exercised.
    /// </summary>
    private static KernelCheck GradNormClipCheck(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"grad norm + clip {label} (gpu)";
        int n = shapes.AdamWCount;
        const float maxNorm = 1f;
        var random = new RandomData(seed, op);
        var first = GpuScope.AsStored(random.Uniform(n), bf16);
        var second = GpuScope.AsStored(random.Uniform(n / 3 + 1), bf16);
        return new KernelCheck(op, $"n={n}+{second.Length}", Tolerance(bf16, Tolerances.Reduction),
            () =>
            {
                using var gpu = new GpuScope(device);
                var kernel = device.Kernels.Get<GradNormGpu>();
                var g1 = gpu.Upload(first, bf16);
                var g2 = gpu.Upload(second, bf16);
                var partials = gpu.Poisoned(2L * kernel.PartialsPerBuffer, bf16: false);
                var result = gpu.Poisoned(2, bf16: false);
                if (bf16) kernel.Clip(device.Stream, [], [g1.Bf16View, g2.Bf16View], partials.F32, result.F32, maxNorm);
                else kernel.Clip(device.Stream, [g1.F32, g2.F32], [], partials.F32, result.F32, maxNorm);
                return [gpu.Download(result), gpu.Download(g1), gpu.Download(g2)];
            },
            () =>
            {
                double norm = GradNorm.NormReference([first, second]);
                float factor = GradNorm.ClipScale(norm, maxNorm);
                return [[(float)norm, factor], first.Select(g => g * factor).ToArray(), second.Select(g => g * factor).ToArray()];
            });
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    private const int IgnoreIndex = -100;

    private static IEnumerable<KernelCheck> CrossEntropyChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        var (rows, vocab) = shapes.CrossEntropy;
        string shape = $"rows={rows} V={vocab}";
        foreach (var (bf16, label) in Storages)
        {
            string forwardOp = $"cross-entropy forward {label} (gpu)";
            var random = new RandomData(seed, forwardOp);
            var logits = GpuScope.AsStored(random.Uniform(rows * vocab), bf16); // (rows, V)
            var targets = random.Integers(rows, vocab); // (rows)
            for (int r = 1; r < rows; r++)
                if (random.Chance(0.25)) targets[r] = IgnoreIndex; // padding; row 0 never is

            // Loss (the mean over rows not ignored), the saved log-sum-exp and the count of rows, all left on the device.
            yield return new KernelCheck(forwardOp, shape, Tolerance(bf16, Tolerances.ForSum(vocab)),
                () =>
                {
                    using var gpu = new GpuScope(device);
                    var gLogits = gpu.Upload(logits, bf16);
                    var gTargets = gpu.Upload(targets);
                    var lse = gpu.Poisoned(rows, bf16: false);
                    var rowLoss = gpu.Poisoned(rows, bf16: false);
                    var meanLoss = gpu.Poisoned(1, bf16: false);
                    var count = gpu.Upload([-1]);
                    var kernel = device.Kernels.Get<CrossEntropyGpu>();
                    if (bf16) kernel.Forward(device.Stream, gLogits.Bf16View, gTargets, lse.F32, rowLoss.F32, meanLoss.F32, count, rows, vocab, IgnoreIndex);
                    else kernel.Forward(device.Stream, gLogits.F32, gTargets, lse.F32, rowLoss.F32, meanLoss.F32, count, rows, vocab, IgnoreIndex);
                    return [gpu.Download(meanLoss), gpu.Download(lse), [gpu.Download(count)[0]]];
                },
                () =>
                {
                    var lse = RandomData.Poisoned(rows);
                    float loss = CrossEntropy.Forward<float>(logits, targets, lse, rows, vocab, IgnoreIndex, out int count);
                    return [[loss], lse, [count]];
                });

            string backwardOp = $"cross-entropy backward {label} (gpu)";
            var saved = new Lazy<(float[] Lse, int Count)>(() =>
            {
                var lse = new float[rows];
                CrossEntropy.Forward<float>(logits, targets, lse, rows, vocab, IgnoreIndex, out int count);
                return (lse, count);
            });
            yield return new KernelCheck(backwardOp, shape, Tolerance(bf16, Tolerances.ForSum(vocab)),
                () =>
                {
                    using var gpu = new GpuScope(device);
                    var gLogits = gpu.Upload(logits, bf16);
                    var gTargets = gpu.Upload(targets);
                    var lse = gpu.Upload(saved.Value.Lse, bf16: false);
                    var dLogits = gpu.Poisoned(logits.Length, bf16);
                    float scale = 1f / saved.Value.Count;
                    var kernel = device.Kernels.Get<CrossEntropyGpu>();
                    if (bf16) kernel.Backward(device.Stream, gLogits.Bf16View, gTargets, lse.F32, scale, dLogits.Bf16View, rows, vocab, IgnoreIndex);
                    else kernel.Backward(device.Stream, gLogits.F32, gTargets, lse.F32, scale, dLogits.F32, rows, vocab, IgnoreIndex);
                    return [gpu.Download(dLogits)];
                },
                () =>
                {
                    var dLogits = RandomData.Poisoned(logits.Length);
                    CrossEntropy.Backward<float>(logits, targets, saved.Value.Lse, 1f / saved.Value.Count, dLogits, rows, vocab, IgnoreIndex);
                    return [dLogits];
                });
        }
    }
}

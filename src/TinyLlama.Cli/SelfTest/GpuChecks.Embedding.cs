using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    /// <summary>
    /// Embedding lookup and its scatter-add. Ids come from the lower half of the vocabulary, so they repeat (the
    /// backward must add, not overwrite) and the upper rows must come back untouched. The bf16 backward is the one
    /// training runs: a bf16 output gradient accumulated into an f32 table gradient.
    /// </summary>
    private static IEnumerable<KernelCheck> EmbeddingChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        var (vocab, channels, tokens) = shapes.Embedding;
        string shape = $"V={vocab} C={channels} N={tokens}";
        foreach (var (bf16, label) in Storages)
        {
            string forwardOp = $"embedding forward {label} (gpu)";
            var random = new RandomData(seed, forwardOp);
            var table = GpuScope.AsStored(random.Uniform(vocab * channels), bf16); // (V, C)
            var ids = random.Integers(tokens, Math.Max(1, Math.Min(vocab, tokens / 2))); // (N)
            yield return new KernelCheck(forwardOp, shape, Tolerance(bf16, Tolerances.Elementwise),
                () =>
                {
                    using var gpu = new GpuScope(device);
                    var gTable = gpu.Upload(table, bf16);
                    var gIds = gpu.Upload(ids);
                    var output = gpu.Poisoned((long)tokens * channels, bf16);
                    var kernel = device.Kernels.Get<EmbeddingGpu>();
                    if (bf16) kernel.Forward(device.Stream, gTable.Bf16View, gIds, output.Bf16View, vocab, channels);
                    else kernel.Forward(device.Stream, gTable.F32, gIds, output.F32, vocab, channels);
                    return [gpu.Download(output)];
                },
                () =>
                {
                    var output = RandomData.Poisoned(tokens * channels);
                    Embedding.Forward<float>(table, ids, output, vocab, channels);
                    return [output];
                });

            string backwardOp = $"embedding backward {(bf16 ? "bf16→f32" : "f32")} (gpu)";
            var dOutput = GpuScope.AsStored(new RandomData(seed, backwardOp).Uniform(tokens * channels), bf16); // (N, C)
            var initialDTable = new RandomData(seed, backwardOp + " dTable").Uniform(vocab * channels); // f32, accumulated (+=)
            // Sums of up to N/2 terms per row: the f32 order differs from the CPU's.
            yield return new KernelCheck(backwardOp, shape, Tolerance(bf16, Tolerances.ForSum(tokens)),
                () =>
                {
                    using var gpu = new GpuScope(device);
                    var gOut = gpu.Upload(dOutput, bf16);
                    var gIds = gpu.Upload(ids);
                    var dTable = gpu.Upload(initialDTable, bf16: false);
                    var kernel = device.Kernels.Get<EmbeddingGpu>();
                    if (bf16) kernel.Backward(device.Stream, gOut.Bf16View, gIds, dTable.F32, vocab, channels);
                    else kernel.Backward(device.Stream, gOut.F32, gIds, dTable.F32, vocab, channels);
                    return [gpu.Download(dTable)];
                },
                () =>
                {
                    var dTable = (float[])initialDTable.Clone();
                    Embedding.Backward<float>(dOutput, ids, dTable, vocab, channels);
                    return [dTable];
                });
        }
    }
}

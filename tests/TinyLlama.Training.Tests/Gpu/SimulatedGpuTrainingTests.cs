using TinyLlama.Data.Packed;
using TinyLlama.Kernels;
using TinyLlama.Model;
using TinyLlama.Tensors;
using TinyLlama.Training.Checkpointing;

namespace TinyLlama.Training.Tests.Gpu;

/// <summary>
/// The whole training step on the GPU code path, run on the simulated device (ILGPU's CPU accelerator, so every
/// kernel the GPU runs runs here too, at a tiny size): the same seed and data trained on the CPU in f32 and on
/// cuda in f32 and in bf16 mixed precision. f32 on cuda differs from the CPU only in summation order; bf16 rounds
/// every activation, so its curve may drift by bf16 noise but must still track. The same check on a real GPU, at a
/// larger size, is in the CLI tests (GpuTrainCommandTests).
/// </summary>
public sealed class SimulatedGpuTrainingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tl-gpu-train-" + Guid.NewGuid().ToString("N"));
    // Head size 16 (64 / 4): a FlashAttention instantiation; tiny so the simulated kernels stay quick.
    private static readonly LlamaConfig Config = LlamaPresets.Nano with
    {
        MaxSeqLen = 16, VocabSize = 64, HiddenSize = 32, IntermediateSize = 64, NumLayers = 1, NumHeads = 2, NumKvHeads = 1,
    };
    private const int Steps = 4;

    public SimulatedGpuTrainingTests()
    {
        GpuDevices.UseSimulator();
        var rng = new Random(7);
        var builder = new PackedDatasetBuilder(Path.Combine(_dir, "data"), "train", chunkSize: 17 * 16, vocabSize: Config.VocabSize);
        var tokens = new int[17 * 16 * 2];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = i % 7 == 0 ? rng.Next(Config.VocabSize) : (i * 37) % 61;
        builder.Add(tokens);
        builder.Finish();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TrainOptions Options => new()
    {
        BatchSize = 4, MicroBatchSize = 2, SeqLen = 16, MaxSteps = Steps, Lr = 1e-2, MinLr = 1e-3, WarmupSteps = 1,
        CheckpointEvery = 100, KeepLast = 1, EvalEvery = 100, EvalBatches = 1, Seed = 11,
    };

    /// <summary>Trains <see cref="Steps"/> steps; returns the losses and grad norms and leaves the last checkpoint in runDir.</summary>
    private (List<double> Losses, List<double> Norms) Train(Device device, DType activations, string runDir, Action<LlamaForCausalLM>? after = null)
    {
        using var data = PackedDataset.Open(Path.Combine(_dir, "data"));
        var loader = new PackedDataLoader(data, Options.SeqLen, Options.MicroBatchSize, (ulong)Options.Seed);
        using var model = new LlamaForCausalLM(Config, seed: Options.Seed);
        model.To(device);
        model.ActivationDType = activations;
        using var trainer = new Trainer(Options, model, loader, null, Path.Combine(runDir, "checkpoints"));
        var losses = new List<double>();
        var norms = new List<double>();
        trainer.StepCompleted += r => { losses.Add(r.Loss); norms.Add(r.GradNorm); };
        trainer.Run();
        after?.Invoke(model);
        return (losses, norms);
    }

    [Fact]
    public void F32OnTheGpuPath_MatchesTheCpu_Bf16TracksIt_AndItsCheckpointLoadsOnTheCpu()
    {
        var cpu = Train(Device.Cpu, DType.F32, Path.Combine(_dir, "cpu"));
        var gpuF32 = Train(Device.Cuda(0), DType.F32, Path.Combine(_dir, "f32"), model =>
        {
            // Parameters and moments stay on the device; the checkpoint holds them as f32 on the host.
            Assert.All(model.Parameters(), p => Assert.Equal(Device.Cuda(0), p.Device));
        });
        Dictionary<string, double[]> onGpu = [];
        var gpuBf16 = Train(Device.Cuda(0), DType.BF16, Path.Combine(_dir, "bf16"), model =>
        {
            foreach (var (name, p) in model.NamedParameters()) onGpu[name] = p.ToDoubleArray();
        });

        Assert.Equal(Steps, cpu.Losses.Count);
        Assert.True(cpu.Losses[^1] < cpu.Losses[0] - 0.1, $"the CPU loss went from {cpu.Losses[0]} to {cpu.Losses[^1]}");
        for (int i = 0; i < Steps; i++)
        {
            Assert.True(Math.Abs(cpu.Losses[i] - gpuF32.Losses[i]) < 2e-3 * Math.Max(1, cpu.Losses[i]),
                $"step {i + 1}: cpu f32 loss {cpu.Losses[i]:F6}, cuda f32 {gpuF32.Losses[i]:F6}");
            Assert.True(Math.Abs(cpu.Norms[i] - gpuF32.Norms[i]) < 1e-2 * Math.Max(1, cpu.Norms[i]),
                $"step {i + 1}: cpu f32 grad norm {cpu.Norms[i]:F6}, cuda f32 {gpuF32.Norms[i]:F6}");
            Assert.True(Math.Abs(cpu.Losses[i] - gpuBf16.Losses[i]) < 0.1,
                $"step {i + 1}: cpu f32 loss {cpu.Losses[i]:F4}, cuda bf16 {gpuBf16.Losses[i]:F4} (bf16 noise is far below 0.1 here)");
        }
        Assert.True(gpuBf16.Losses[^1] < gpuBf16.Losses[0] - 0.1, $"the bf16 loss went from {gpuBf16.Losses[0]} to {gpuBf16.Losses[^1]}");

        // The checkpoint written from the GPU run loads on the CPU with the same weights (downloaded as f32).
        var latest = new CheckpointStore(Path.Combine(_dir, "bf16", "checkpoints"), 1).Latest()!.Value;
        using var cpuModel = new LlamaForCausalLM(Config, seed: 1);
        using var optimizer = new Optim.AdamWOptimizer(cpuModel.NamedParameters(), new Optim.AdamWOptions());
        var state = CheckpointStore.Load(latest.Path, cpuModel, optimizer);
        Assert.Equal(Steps, state.Step);
        Assert.Equal(Steps, optimizer.StepCount);
        foreach (var (name, p) in cpuModel.NamedParameters())
            Assert.Equal(onGpu[name], p.ToDoubleArray());
        // The moments came back too: not all zero after the run.
        Assert.Contains(optimizer.StateTensors(), kv => kv.Value.ToDoubleArray().Any(v => v != 0));
    }
}

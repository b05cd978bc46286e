using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TinyLlama.Kernels;
using TinyLlama.Model;
using TinyLlama.Tensors;
using TinyLlama.Training.Optim;
using TinyLlama.Training.Run;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>bench train</c>: training throughput of a preset on random tokens — forward, backward, clipping and an AdamW
/// step, as in training — on the CPU or a CUDA device, for side-by-side comparison with PyTorch
/// (tools/reference/train_reference.py on the CPU, tools/reference/hf_train_step.py on a GPU).
///
/// <para>Reported: each step's time and loss, the median step, tokens/s (batch × seq-len over the median step), MFU,
/// and on a GPU the memory pool's peak bytes in use. A step is timed from the upload of its tokens until the device
/// has finished the optimizer step (the loss read waits for the backward; a device synchronisation then waits for
/// clipping and AdamW, which are queued without a result to read).</para>
///
/// <para><b>MFU</b> follows nanoGPT's <c>estimate_mfu</c>: model FLOPs per token = 6·N + 12·L·H·Hs·T (forward and
/// backward of the weight matmuls, plus attention's two T-long products per layer, not halved for the causal mask),
/// over the device's peak (<c>--peak-tflops</c>, default 989: H100 SXM dense bf16). N counts the weights that take
/// part in matmuls: every parameter except the input embedding table, which is a lookup (nanoGPT's N includes its
/// token embedding only because that matrix is also its lm_head; our lm_head is untied and counted).</para>
/// </summary>
internal static class BenchCommand
{
    /// <summary>The dense bf16 tensor-core peak of an H100 SXM (TFLOP/s), the default MFU denominator.</summary>
    public const double H100SxmBf16PeakTflops = 989;

    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model shape.", DefaultValueFactory = _ => "tiny" };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => 8 };
        var seqLen = new Option<int?>("--seq-len") { Description = "Tokens per sequence (default: the context length)." };
        var steps = new Option<int>("--steps") { Description = "Timed steps.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first.", DefaultValueFactory = _ => 2 };
        var device = new Option<string>("--device")
        {
            Description = "cpu, cuda, cuda:N, or cuda-sim (the CUDA code path on ILGPU's CPU accelerator; slow, for checking).",
            DefaultValueFactory = _ => "cpu",
        };
        device.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not null && value != "cpu" && !GpuDevices.IsDeviceName(value))
                result.AddError($"--device '{value}' is not valid: expected cpu, cuda, cuda:N or cuda-sim");
        });
        var precision = new Option<string?>("--precision")
        {
            Description = "f32, or bf16 (f32 master weights cast to bf16 at use, bf16 activations, f32 loss; CUDA only). "
                + "Default: bf16 on cuda, f32 on cpu.",
        };
        precision.AcceptOnlyFromAmong("f32", "bf16");
        var peak = new Option<double>("--peak-tflops")
        {
            Description = "The device's peak TFLOP/s, the MFU denominator (default: 989, H100 SXM dense bf16).",
            DefaultValueFactory = _ => H100SxmBf16PeakTflops,
        };
        var checkpointing = new Option<bool>("--activation-checkpointing") { Description = "Recompute each layer in backward (less memory, about a third more compute), as `train --activation-checkpointing`." };
        var train = new Command("train", "Training tokens/s and MFU of a preset on random data (forward, backward, clip, AdamW).")
        {
            preset, batch, seqLen, steps, warmup, device, precision, peak, checkpointing,
        };
        train.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            return CommandErrors.Run(error, () =>
            {
                string presetName = parse.GetValue(preset)!;
                var config = LlamaPresets.Get(presetName);
                var run = new TrainBench(
                    presetName, config, parse.GetValue(batch), parse.GetValue(seqLen) ?? config.MaxSeqLen,
                    parse.GetValue(steps), parse.GetValue(warmup), parse.GetValue(device)!, parse.GetValue(precision),
                    parse.GetValue(peak), parse.GetValue(checkpointing));
                return run.Execute(output, error);
            });
        });
        return new Command("bench", "Throughput benchmarks of whole workloads (kernels are in benchmarks/).") { train, BenchAllReduceCommand.Create() };
    }

    /// <summary>
    /// Model FLOPs of one token's training step, nanoGPT's <c>estimate_mfu</c>: 6·N + 12·L·H·Hs·T, N the parameters
    /// used in matmuls (all but the input embedding table). tools/reference/hf_train_step.py computes the same.
    /// </summary>
    internal static double FlopsPerToken(LlamaConfig config, int seqLen)
    {
        return 6.0 * MatmulParameters(config) + 12.0 * config.NumLayers * config.NumHeads * config.HeadSize * seqLen;
    }

    /// <summary>The N of <see cref="FlopsPerToken"/>: every parameter but the input embedding table (a lookup, no FLOPs).</summary>
    internal static long MatmulParameters(LlamaConfig config) =>
        config.ParameterCount() - (config.TieWordEmbeddings ? 0 : (long)config.VocabSize * config.HiddenSize);

    /// <summary>One <c>bench train</c> run: the settings, checked, and the timed loop.</summary>
    private sealed record TrainBench(
        string PresetName, LlamaConfig Config, int Batch, int SeqLen, int Steps, int Warmup, string DeviceName,
        string? Precision, double PeakTflops, bool Checkpointing)
    {
        public int Execute(TextWriter output, TextWriter error)
        {
            int b = Batch, t = SeqLen;
            if (b <= 0 || t <= 0 || t > Config.MaxSeqLen || Steps <= 0 || Warmup < 0)
                throw new ArgumentException($"bench train: batch {b}, seq-len {t} (≤ {Config.MaxSeqLen}), steps {Steps}, warmup {Warmup}: expected positive sizes");
            if (!(PeakTflops > 0) || double.IsInfinity(PeakTflops))
                throw new ArgumentException($"bench train: --peak-tflops {PeakTflops}: expected a positive number");
            // The same flags, defaults and errors as `train` (RunDevice); cuda-sim makes the simulator cuda:0 for the process.
            Device device;
            DType activations;
            try
            {
                (device, activations) = RunDevice.Resolve(new RunSettings { Device = DeviceName, Precision = Precision }, worldSize: 1);
            }
            catch (GpuUnavailableException e)
            {
                error.WriteLine($"error: {e.Message}");
                error.WriteLine("hint: --device cuda-sim runs the CUDA code path on the CPU, without a GPU");
                return SelfTestCommand.ExitUnavailable;
            }
            GpuDevice? gpu = device.Kind == DeviceKind.Cuda ? GpuDevices.Get(device.Index) : null;
            string precision = activations == DType.BF16 ? "bf16" : "f32";

            using var model = new LlamaForCausalLM(Config, seed: 1);
            model.To(device); // before the optimizer, whose state is made beside the parameters
            model.ActivationDType = activations;
            model.ActivationCheckpointing = Checkpointing;
            using var optimizer = new AdamWOptimizer(model.NamedParameters(), new AdamWOptions());
            var rng = new Random(1);
            string where = gpu is null ? $"cpu, {Environment.ProcessorCount} threads" : gpu.ToString();
            string dtypes = (precision == "bf16" ? "bf16 activations, f32 weights" : "f32") + (Checkpointing ? ", activation checkpointing" : "");
            output.WriteLine($"bench train: {PresetName} ({model.ParameterCount():N0} parameters), batch {b} × {t}, {where}, {dtypes}");

            var seconds = new List<double>();
            for (int step = 0; step < Warmup + Steps; step++)
            {
                var inputIds = new int[b * t];
                var targetIds = new int[b * t];
                for (int row = 0; row < b; row++)
                {
                    // (t + 1) random tokens per row: the inputs are the first t, the targets the next token of each.
                    int previous = rng.Next(Config.VocabSize);
                    for (int i = 0; i < t; i++)
                    {
                        int next = rng.Next(Config.VocabSize);
                        inputIds[row * t + i] = previous;
                        targetIds[row * t + i] = next;
                        previous = next;
                    }
                }
                var clock = Stopwatch.StartNew();
                double loss;
                using (var scope = new TensorScope())
                {
                    // Made on the host and uploaded each step, as the trainer's batches are (the scope frees both copies).
                    var inputs = Tensor.FromArray(inputIds, b, t).To(device);
                    var targets = Tensor.FromArray(targetIds, b, t).To(device);
                    var l = model.Loss(inputs, targets);
                    l.Backward();
                    loss = l.Item(); // waits for the forward and backward
                }
                optimizer.ClipGradNorm(1.0);
                optimizer.Step(4e-4);
                optimizer.ZeroGrad();
                gpu?.Synchronize(); // the optimizer's kernels are queued; the step ends when they have run
                double s = clock.Elapsed.TotalSeconds;
                if (step >= Warmup) seconds.Add(s);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step + 1}{(step < Warmup ? " (warm-up)" : "")}: {s * 1000:F0} ms, loss {loss:F3}"));
                if (Invalid(step, loss) is { } problem)
                {
                    error.WriteLine($"error: bench train: {problem}; no figures are reported for a run that computes nonsense");
                    return 1;
                }
            }

            seconds.Sort();
            double median = seconds[seconds.Count / 2], mean = seconds.Average();
            double tokensPerSecond = b * t / median;
            double flopsPerToken = FlopsPerToken(Config, t);
            double achievedTflops = flopsPerToken * tokensPerSecond / 1e12;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median step {median * 1000:F0} ms, mean {mean * 1000:F0} ms, fastest {seconds[0] * 1000:F0} ms"));
            // Whole tokens at real speeds; three digits on the simulated device, where a step takes tens of seconds.
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tokens/s: {(tokensPerSecond >= 100 ? tokensPerSecond.ToString("F0", CultureInfo.InvariantCulture) : tokensPerSecond.ToString("G3", CultureInfo.InvariantCulture))}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mfu: {100 * achievedTflops / PeakTflops:G3}% ({achievedTflops:G4} model TFLOP/s over a peak of {PeakTflops:G} TFLOP/s, --peak-tflops)"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"model FLOPs per token: {flopsPerToken:E4} (nanoGPT's estimate_mfu: 6·N + 12·L·H·Hs·T, N = {MatmulParameters(Config):N0} matmul weights: all but the embedding table)"));
            if (gpu is not null)
                output.WriteLine($"peak memory: {GpuMemoryStatistics.Bytes(gpu.Memory.Statistics.PeakBytesInUse)} (the device pool's peak in use, whole blocks)");
            return 0;
        }

        /// <summary>
        /// Why a step's loss is wrong, or null. Every loss must be finite; the first is also checked against ln V: on
        /// uniform random targets a freshly initialised model (logits of standard deviation ≈ 0.6) scores ln V + ~0.2,
        /// so more than a nat away means the forward pass is broken, however fast it is.
        /// </summary>
        private string? Invalid(int step, double loss)
        {
            if (!double.IsFinite(loss)) return $"step {step + 1} has loss {loss}";
            double uniform = Math.Log(Config.VocabSize);
            if (step == 0 && Math.Abs(loss - uniform) > 1.0)
                return string.Create(CultureInfo.InvariantCulture,
                    $"step 1 has loss {loss:F3}, but random tokens at initialisation score about ln V = {uniform:F3}");
            return null;
        }
    }
}

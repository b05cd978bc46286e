using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TinyLlama.Model;
using TinyLlama.Tensors;
using TinyLlama.Training.Optim;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>bench train</c>: training throughput of a preset on random tokens — forward, backward, clipping and an AdamW
/// step, as in training — for side-by-side comparison with tools/reference/train_reference.py (PyTorch).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model shape.", DefaultValueFactory = _ => "tiny" };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => 8 };
        var seqLen = new Option<int?>("--seq-len") { Description = "Tokens per sequence (default: the context length)." };
        var steps = new Option<int>("--steps") { Description = "Timed steps.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first.", DefaultValueFactory = _ => 2 };
        var train = new Command("train", "Training tokens/s of a preset on random data (forward, backward, clip, AdamW).") { preset, batch, seqLen, steps, warmup };
        train.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            return CommandErrors.Run(parse.InvocationConfiguration.Error, () =>
            {
                var config = LlamaPresets.Get(parse.GetValue(preset)!);
                int b = parse.GetValue(batch), t = parse.GetValue(seqLen) ?? config.MaxSeqLen;
                int timed = parse.GetValue(steps), untimed = parse.GetValue(warmup);
                if (b <= 0 || t <= 0 || t > config.MaxSeqLen || timed <= 0 || untimed < 0)
                    throw new ArgumentException($"bench train: batch {b}, seq-len {t} (≤ {config.MaxSeqLen}), steps {timed}, warmup {untimed}: expected positive sizes");
                using var model = new LlamaForCausalLM(config, seed: 1);
                using var optimizer = new AdamWOptimizer(model.NamedParameters(), new AdamWOptions());
                var rng = new Random(1);
                output.WriteLine($"bench train: {parse.GetValue(preset)} ({model.ParameterCount():N0} parameters), batch {b} × {t}, {Environment.ProcessorCount} threads");
                var seconds = new List<double>();
                for (int step = 0; step < untimed + timed; step++)
                {
                    var ids = new int[b * (t + 1)];
                    for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(config.VocabSize);
                    var clock = Stopwatch.StartNew();
                    double loss;
                    using (var scope = new TensorScope())
                    {
                        var blocks = Tensor.FromArray(ids, b, t + 1);
                        var inputs = blocks.Narrow(1, 0, t).Contiguous();
                        var targets = blocks.Narrow(1, 1, t).Contiguous();
                        var l = model.Loss(inputs, targets);
                        l.Backward();
                        loss = l.Item();
                    }
                    optimizer.ClipGradNorm(1.0);
                    optimizer.Step(4e-4);
                    optimizer.ZeroGrad();
                    double s = clock.Elapsed.TotalSeconds;
                    if (step >= untimed) seconds.Add(s);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step + 1}{(step < untimed ? " (warm-up)" : "")}: {s * 1000:F0} ms, loss {loss:F3}"));
                }
                seconds.Sort();
                double median = seconds[seconds.Count / 2], mean = seconds.Average();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median step {median * 1000:F0} ms, mean {mean * 1000:F0} ms, fastest {seconds[0] * 1000:F0} ms"));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tokens/s: {b * t / median:F0}"));
                return 0;
            });
        });
        return new Command("bench", "Throughput benchmarks of whole workloads (kernels are in benchmarks/).") { train, BenchAllReduceCommand.Create() };
    }
}

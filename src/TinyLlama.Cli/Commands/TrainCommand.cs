using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using TinyLlama.Distributed.DataParallel;
using TinyLlama.Training;
using TinyLlama.Training.Run;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>train</c>: pre-trains a Llama model. With no flags it trains the tiny preset on the embedded corpus for a few
/// minutes. Ctrl-C or SIGTERM finishes the current step and writes a checkpoint; <c>--resume</c> continues.
/// </summary>
internal static class TrainCommand
{
    // The default run: a 5M-parameter model for a few minutes on 2 cores. A small model takes a larger learning
    // rate than TinyLlama-1.1B's 4e-4.
    private const int DefaultSteps = 200;
    private const double DefaultLr = 2e-3, DefaultMinLr = 2e-4;

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "JSON file of options (keys are the flag names without dashes, e.g. {\"lr\": 0.001}); flags given on the command line win." };
        var preset = new Option<string>("--preset") { Description = "Model shape: tiny, nano, small or tinyllama-1.1b.", DefaultValueFactory = _ => "tiny" };
        var data = new Option<string[]>("--data") { Description = "Packed token data (LITPKDS): folders from `prepare`, files or globs; several sources are mixed (see --data-weights). Default: the embedded corpus.", AllowMultipleArgumentsPerToken = true };
        var dataWeights = new Option<double[]?>("--data-weights") { Description = "Mixing weights of the --data sources, one each (e.g. 0.69 0.31 as TinyLlama's SlimPajama/Starcoder); default equal.", AllowMultipleArgumentsPerToken = true };
        var valData = new Option<string?>("--val-data") { Description = "Validation data (default: the validation_* files beside --data)." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json or tokenizer.model (default: trained on the embedded corpus)." };
        var output = new Option<string>("--out") { Description = "Output folder for checkpoints, metrics, plot and the final model.", DefaultValueFactory = _ => Path.Combine("runs", "default") };
        var maxSteps = new Option<int?>("--max-steps") { Description = $"Optimizer steps (the length of the LR schedule; default {DefaultSteps} unless --max-tokens is given)." };
        var maxTokens = new Option<long?>("--max-tokens") { Description = "Train on this many tokens (sets the schedule length)." };
        var maxTime = new Option<string?>("--max-time") { Description = "Stop after this wall time (e.g. 90s, 10m, 2h, or hh:mm:ss); a checkpoint is written." };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per optimizer step.", DefaultValueFactory = _ => 8 };
        var micro = new Option<int?>("--micro-batch-size") { Description = "Sequences per forward/backward in each process (gradients accumulate to --batch-size over the processes; default: the batch size over the processes)." };
        var seqLen = new Option<int?>("--seq-len") { Description = "Tokens per sequence (default: the model's context length)." };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => DefaultLr };
        var minLr = new Option<double>("--min-lr") { Description = "Learning rate at the end of the cosine decay.", DefaultValueFactory = _ => DefaultMinLr };
        var warmup = new Option<int?>("--warmup-steps") { Description = "Linear warmup steps (default: a tenth of the run, at most 2000)." };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Decoupled weight decay.", DefaultValueFactory = _ => 0.1 };
        var gradClip = new Option<double>("--grad-clip") { Description = "Clip the global gradient norm to this (0: off).", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the initialisation and the data order.", DefaultValueFactory = _ => 3407 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Write a checkpoint every N steps (and at the end).", DefaultValueFactory = _ => 100 };
        var keepLast = new Option<int>("--keep-last") { Description = "Checkpoints to keep.", DefaultValueFactory = _ => 3 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Validation loss every N steps.", DefaultValueFactory = _ => 25 };
        var evalBatches = new Option<int>("--eval-batches") { Description = "Batches per validation.", DefaultValueFactory = _ => 8 };
        var initFrom = new Option<string?>("--init-from") { Description = "Continue training from a Hugging Face model folder." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its latest checkpoint." };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N, or cuda-sim (the GPU code path simulated on the CPU: tiny models only).", DefaultValueFactory = _ => "cpu" };
        var precision = new Option<string?>("--precision") { Description = "Activations: bf16 (mixed precision: f32 master weights and AdamW state, f32 loss) or f32. Default: bf16 on a GPU, f32 on the CPU." };
        var checkpointing = new Option<bool>("--activation-checkpointing") { Description = "Keep only each layer's input and recompute the layer in backward: less memory for about a third more compute." };
        var samples = new Option<int>("--samples") { Description = "Text samples to print at the end.", DefaultValueFactory = _ => 3 };
        var bucketMb = new Option<double>("--bucket-mb") { Description = "Data-parallel runs: MiB of gradients per all-reduce bucket (as DDP's bucket_cap_mb).", DefaultValueFactory = _ => BucketPlan.DefaultBucketBytes / 1048576.0 };

        var command = new Command("train", "Pre-train a Llama model (with no flags: the tiny preset on the embedded corpus, a few minutes on a CPU).")
        {
            config, preset, data, dataWeights, valData, tokenizer, output, maxSteps, maxTokens, maxTime, batch, micro, seqLen, lr, minLr, warmup,
            weightDecay, gradClip, seed, checkpointEvery, keepLast, evalEvery, evalBatches, initFrom, resume, device, precision, checkpointing, samples, bucketMb,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            return CommandErrors.Run(stderr, () =>
            {
                var file = parse.GetValue(config) is { } path ? LoadConfig(path) : new JsonObject();
                T Get<T>(Option<T> option)
                {
                    string key = option.Name.TrimStart('-');
                    // A default value also leaves a (implicit) result; only a flag typed on the command line wins.
                    bool typed = parse.GetResult(option) is { Implicit: false };
                    if (!typed && file[key] is JsonNode node)
                    {
                        try { return node.GetValue<T>(); }
                        catch (Exception e) when (e is FormatException or InvalidOperationException)
                        {
                            throw new InvalidDataException($"{parse.GetValue(config)}: '{key}' = {node.ToJsonString()} is not a valid value for {option.Name}");
                        }
                    }
                    return parse.GetValue(option)!;
                }

                double bucketMiB = Get(bucketMb);
                if (!(bucketMiB > 0)) throw new ArgumentException($"--bucket-mb {bucketMiB}: expected > 0");
                // The job this process is a rank of (null: alone); the one place the process group comes from.
                using var group = ProcessGroups.CreateFromEnvironment();
                var parallel = group is null ? null : new DistributedDataParallel(group, (long)(bucketMiB * 1048576));
                int worldSize = group?.WorldSize ?? 1;

                string presetName = Get(preset);
                var modelShape = Model.LlamaPresets.Get(presetName);
                int batchSize = Get(batch);
                int? steps = Get(maxSteps);
                long? tokens = Get(maxTokens);
                var options = new TrainOptions
                {
                    BatchSize = batchSize,
                    MicroBatchSize = Get(micro) ?? Math.Max(1, batchSize / worldSize),
                    SeqLen = Get(seqLen) ?? modelShape.MaxSeqLen,
                    MaxSteps = steps ?? (tokens is null ? DefaultSteps : null),
                    MaxTokens = tokens,
                    MaxTime = Get(maxTime) is { } t ? ParseDuration(t) : null,
                    Lr = Get(lr), MinLr = Get(minLr), WarmupSteps = Get(warmup),
                    WeightDecay = Get(weightDecay), GradClip = Get(gradClip), Seed = Get(seed),
                    CheckpointEvery = Get(checkpointEvery), KeepLast = Get(keepLast),
                    EvalEvery = Get(evalEvery), EvalBatches = Get(evalBatches),
                };
                var settings = new RunSettings
                {
                    Preset = presetName,
                    Data = Get(data) ?? [],
                    DataWeights = Get(dataWeights) is { Length: > 0 } weights ? weights : null,
                    ValidationData = Get(valData),
                    Tokenizer = Get(tokenizer),
                    Out = Get(output),
                    InitFrom = Get(initFrom),
                    Resume = Get(resume),
                    Device = Get(device),
                    Precision = Get(precision),
                    ActivationCheckpointing = Get(checkpointing),
                    Samples = Get(samples),
                };

                // Ctrl-C and SIGTERM ask the trainer to stop after the current step; a second Ctrl-C is not caught.
                using var stop = new CancellationTokenSource();
                void Request(PosixSignalContext context)
                {
                    if (stop.IsCancellationRequested) return;
                    context.Cancel = true;
                    stderr.WriteLine($"\n{context.Signal}: finishing the current step, then writing a checkpoint…");
                    stop.Cancel();
                }
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Request);
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Request);
                try
                {
                    return new TrainingRun(settings, options, stdout, stderr, parallel).Execute(stop.Token);
                }
                catch (TrainingDivergedException e)
                {
                    stderr.WriteLine($"error: {e.Message}");
                    return 3;
                }
            });
        });
        return command;
    }

    private static JsonObject LoadConfig(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file (--config)");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object of options");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {e.Message}");
        }
    }

    /// <summary>"90s", "10m", "2h", "1h30m" or "hh:mm:ss".</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && text.Contains(':')) return span;
        var match = System.Text.RegularExpressions.Regex.Match(text, @"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$");
        if (!match.Success || text.Length == 0)
            throw new FormatException($"--max-time '{text}': expected a duration such as 90s, 10m, 2h, 1h30m or hh:mm:ss");
        double Part(int i) => match.Groups[i].Success ? double.Parse(match.Groups[i].Value, CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromHours(Part(1)) + TimeSpan.FromMinutes(Part(2)) + TimeSpan.FromSeconds(Part(3));
    }
}

using System.CommandLine;
using TinyLlama.Cli.SelfTest;
using TinyLlama.Kernels;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>selftest</c>: checks every kernel of a backend against its scalar reference on seeded random data.
/// It is the first thing to run on a new machine: a wrong SIMD path or a bad GPU build shows up here in seconds.
/// </summary>
internal static class SelfTestCommand
{
    /// <summary>Exit code for a valid request that this machine cannot serve, e.g. no CUDA device (as opposed to a failed check, 1).</summary>
    public const int ExitUnavailable = 2;

    public static Command Create()
    {
        var device = new Option<string>("--device")
        {
            Description = "Backend whose kernels are checked: cpu, cuda, cuda:N, or cuda-sim (the CUDA code path on "
                + "ILGPU's CPU accelerator, for machines without a GPU; slow).",
            DefaultValueFactory = _ => "cpu",
        };
        device.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not null && value != "cpu" && !GpuDevices.IsDeviceName(value))
                result.AddError($"--device '{value}' is not valid: expected cpu, cuda, cuda:N or cuda-sim");
        });

        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the random inputs; the same seed draws the same data, so a failure can be replayed.",
            DefaultValueFactory = _ => SelfTestRunner.DefaultSeed,
        };

        var size = new Option<string>("--size")
        {
            Description = "Problem sizes: small (a fraction of a second, for tests), medium (model-like shapes; the cpu "
                + "default), gpu (realistic sizes: 16384 rows of 2048, V 32000, a 2048³ GEMM; the cuda default) or gpu-sim "
                + "(tiny sizes for the simulated device; the cuda-sim default).",
        };
        size.AcceptOnlyFromAmong("small", "medium", "gpu", "gpu-sim");

        var command = new Command("selftest", "Check each kernel against its reference on random data; exit 0 only if all pass.")
        {
            device, seed, size,
        };
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            int seedValue = parseResult.GetValue(seed);
            string deviceName = parseResult.GetValue(device)!;
            var shapes = ChooseShapes(parseResult.GetValue(size), deviceName);
            if (deviceName == "cpu")
            {
                output.WriteLine($"TinyLlama self-test: device cpu, size {shapes.Name}, seed {seedValue}");
                return SelfTestRunner.Run(CpuChecks.Create(shapes, seedValue), output) ? 0 : 1;
            }
            GpuDevice gpu;
            try
            {
                gpu = GpuDevices.Get(deviceName);
            }
            catch (GpuUnavailableException e)
            {
                error.WriteLine($"error: {e.Message}");
                error.WriteLine("hint: --device cuda-sim runs the CUDA code path on the CPU, without a GPU");
                return ExitUnavailable;
            }
            output.WriteLine($"TinyLlama self-test: device {gpu}, size {shapes.Name}, seed {seedValue}");
            return SelfTestRunner.Run(GpuChecks.Create(gpu, shapes, seedValue), output) ? 0 : 1;
        });
        return command;
    }

    /// <summary>The --size given, or the device's default: medium on the CPU, gpu on a real GPU, gpu-sim on the simulator.</summary>
    internal static SelfTestShapes ChooseShapes(string? size, string deviceName) => size switch
    {
        "small" => SelfTestShapes.Small,
        "medium" => SelfTestShapes.Medium,
        "gpu" => SelfTestShapes.Gpu,
        "gpu-sim" => SelfTestShapes.GpuSimulated,
        _ when deviceName == "cpu" => SelfTestShapes.Medium,
        _ when deviceName == GpuDevices.SimulatedName || GpuDevices.IsSimulated => SelfTestShapes.GpuSimulated,
        _ => SelfTestShapes.Gpu,
    };
}

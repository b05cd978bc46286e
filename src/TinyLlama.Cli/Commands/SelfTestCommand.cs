using System.CommandLine;
using TinyLlama.Cli.SelfTest;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>selftest</c>: checks every kernel of a backend against its scalar reference on seeded random data.
/// It is the first thing to run on a new machine: a wrong SIMD path or a bad GPU build shows up here in seconds.
/// </summary>
internal static class SelfTestCommand
{
    /// <summary>Exit code for a valid request that this build cannot serve (as opposed to a failed check, 1).</summary>
    public const int ExitUnavailable = 2;

    public const string CudaUnavailableMessage = "the CUDA backend is not built yet; only --device cpu is available";

    public static Command Create()
    {
        var device = new Option<string>("--device")
        {
            Description = "Backend whose kernels are checked.",
            DefaultValueFactory = _ => "cpu",
        };
        // cuda is accepted by the parser so the user gets the "not built yet" message, not "unknown value".
        device.AcceptOnlyFromAmong("cpu", "cuda");

        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the random inputs; the same seed draws the same data, so a failure can be replayed.",
            DefaultValueFactory = _ => SelfTestRunner.DefaultSeed,
        };

        var size = new Option<string>("--size")
        {
            Description = "Problem sizes: small (a fraction of a second, for tests) or medium (model-like shapes).",
            DefaultValueFactory = _ => "medium",
        };
        size.AcceptOnlyFromAmong("small", "medium");

        var command = new Command("selftest", "Check each kernel against its reference on random data; exit 0 only if all pass.")
        {
            device, seed, size,
        };
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            if (parseResult.GetValue(device) == "cuda")
            {
                error.WriteLine($"error: {CudaUnavailableMessage}");
                return ExitUnavailable;
            }
            var shapes = parseResult.GetValue(size) == "small" ? SelfTestShapes.Small : SelfTestShapes.Medium;
            int seedValue = parseResult.GetValue(seed);
            output.WriteLine($"TinyLlama self-test: device cpu, size {shapes.Name}, seed {seedValue}");
            var checks = CpuChecks.Create(shapes, seedValue);
            return SelfTestRunner.Run(checks, output) ? 0 : 1;
        });
        return command;
    }
}

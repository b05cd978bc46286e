using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TinyLlama.Benchmarks.Gpu;
using TinyLlama.Kernels;

// Every benchmark class in this assembly is listed; pick with --filter, e.g.
//   dotnet run -c Release --project benchmarks/TinyLlama.Benchmarks -- --filter '*Gemm*'
// On the GPU host (a .NET runtime, no SDK: see benchmarks/README.md) pass --inProcess; the GPU classes use the
// in-process toolchain in any case (GpuConfig), the CPU classes need the flag there. The flag is handled here, not by
// BenchmarkDotNet's parser, which would add its job beside GpuConfig's and run every GPU case twice: here it becomes
// the default job, which only classes without a job of their own (the CPU ones) take.
//   --smoke [DEVICE]  runs each GPU benchmark's validation once at tiny sizes (default cuda-sim) and exits 0 or 1.
if (args.Length > 0 && args[0] == "--smoke")
    return GpuSmoke.Run(args.Length > 1 ? args[1] : GpuDevices.SimulatedName, Console.Out);

IConfig config = DefaultConfig.Instance;
if (args.Any(a => a.Equals("--inProcess", StringComparison.OrdinalIgnoreCase)))
{
    args = args.Where(a => !a.Equals("--inProcess", StringComparison.OrdinalIgnoreCase)).ToArray();
    config = ManualConfig.Create(config).AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).AsDefault());
}
if (GpuUnavailableReason() is { } reason)
{
    Console.WriteLine($"// GPU benchmarks SKIPPED: {reason}");
    config = config.AddFilter(new SimpleFilter(b => !typeof(GpuBenchmark).IsAssignableFrom(b.Descriptor.Type)));
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
return 0;

// Opens the device the GPU benchmarks would use (TINYLLAMA_BENCH_DEVICE, default cuda); null when it opens.
static string? GpuUnavailableReason()
{
    string name = Environment.GetEnvironmentVariable(GpuBenchmark.DeviceVariable) is { Length: > 0 } given ? given : "cuda";
    try
    {
        GpuDevices.Get(name);
        return null;
    }
    catch (Exception e) when (e is GpuUnavailableException or FormatException)
    {
        return $"{e.Message} (set {GpuBenchmark.DeviceVariable}=cuda-sim to run them on the simulator, or use --smoke)";
    }
}

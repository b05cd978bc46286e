namespace TinyLlama.Cli.Tests;

/// <summary>
/// Tests that run kernels on the process's one simulated device share it one at a time: the CPU accelerator runs every
/// simulated lane as an OS thread, and two suites launching on its default stream at once would only compete for the
/// machine's cores (and interleave their stream work).
/// </summary>
[CollectionDefinition(Name)]
public sealed class SimulatedGpuCollection
{
    public const string Name = "simulated GPU";
}

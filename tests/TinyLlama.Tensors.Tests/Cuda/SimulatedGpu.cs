using TinyLlama.Kernels;

namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>
/// Makes cuda:0 of the test process the simulated device (ILGPU's CPU accelerator), so cuda tensors run without a
/// GPU. Tests using it share one collection: they read the allocator's counters, which a test running beside them
/// would disturb.
/// </summary>
public sealed class SimulatedGpuFixture
{
    public SimulatedGpuFixture()
    {
        GpuDevices.UseSimulator();
        Device = GpuDevices.Get(0);
    }

    public GpuDevice Device { get; }

    public static Device Cuda => TinyLlama.Tensors.Device.Cuda(0);
}

[CollectionDefinition(Name)]
public sealed class SimulatedGpuCollection : ICollectionFixture<SimulatedGpuFixture>
{
    public const string Name = "simulated cuda:0";
}

using System.Globalization;

namespace TinyLlama.Kernels;

/// <summary>What a device is, for logs, the self-test header and choosing kernel variants.</summary>
/// <param name="Name">The driver's name, e.g. "NVIDIA H100 80GB HBM3"; for the simulated device, says so.</param>
/// <param name="ComputeCapability">Major and minor, e.g. (9, 0); (0, 0) for the simulated device.</param>
/// <param name="MemoryBytes">Device memory (the host's for the simulated device).</param>
/// <param name="Multiprocessors">SM count.</param>
/// <param name="DriverVersion">CUDA driver API version, e.g. "12.8"; "none" for the simulated device.</param>
/// <param name="PtxTarget">The .target ILGPU compiles for (sm_80 at most in ILGPU 1.5.3; see notes/ilgpu.md §1).</param>
public sealed record GpuDeviceInfo(
    string Name,
    (int Major, int Minor) ComputeCapability,
    long MemoryBytes,
    int Multiprocessors,
    int WarpSize,
    int MaxThreadsPerGroup,
    int MaxSharedMemoryPerGroup,
    string DriverVersion,
    string PtxTarget)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}, compute capability {ComputeCapability.Major}.{ComputeCapability.Minor}, {MemoryBytes / (double)(1L << 30):0.0} GiB, " +
        $"{Multiprocessors} SMs, warp {WarpSize}, driver {DriverVersion}, PTX target {PtxTarget}");
}

using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels;

/// <summary>
/// One open CUDA device: the ILGPU context (built by <see cref="GpuContextSettings.Apply"/>, the one configuration
/// the PTX tests also compile with), its accelerator, the default stream every op is queued on, any extra streams,
/// the loaded kernels, the caching allocator and the pinned transfer buffer. Open a device through
/// <see cref="GpuDevices"/>, which keeps one per index for the process; opening is slow (driver init, context) and
/// kernels compile once per accelerator.
///
/// A <b>simulated</b> device (<see cref="OpenSimulated"/>) is the same type over ILGPU's CPU accelerator set up as an
/// NVIDIA GPU (warp 32, 1024 threads a group): every kernel, allocator and transfer path runs, slowly, on a machine
/// with no GPU. Tests use it, and so can a user who wants to see the GPU code path work before renting a GPU.
/// </summary>
public sealed class GpuDevice : IDisposable
{
    readonly List<AcceleratorStream> extraStreams = [];
    int disposed;

    GpuDevice(int index, bool simulated, Context context, Accelerator accelerator, GpuDeviceInfo info, long? memoryCapacity)
    {
        Index = index;
        IsSimulated = simulated;
        Context = context;
        Accelerator = accelerator;
        Info = info;
        Kernels = new GpuKernelSet(accelerator);
        Memory = new GpuMemoryPool(accelerator, memoryCapacity, $"cuda:{index}");
        Transfers = new GpuTransfers(accelerator, accelerator.DefaultStream);
    }

    /// <summary>The N of "cuda:N".</summary>
    public int Index { get; }

    public bool IsSimulated { get; }

    public GpuDeviceInfo Info { get; }

    public Context Context { get; }

    public Accelerator Accelerator { get; }

    /// <summary>The stream every op and transfer is queued on (see the stream rule in <see cref="GpuMemoryPool"/>).</summary>
    public AcceleratorStream Stream => Accelerator.DefaultStream;

    public GpuKernelSet Kernels { get; }

    public GpuMemoryPool Memory { get; }

    public GpuTransfers Transfers { get; }

    /// <summary>"cuda:0", as tensors name their device.</summary>
    public string Name => $"cuda:{Index}";

    /// <summary>
    /// A further stream, owned by the device and disposed with it, for work that may overlap the default stream
    /// (e.g. gradient all-reduce). Memory it touches must not be freed before it is synchronised: the stream rule.
    /// </summary>
    public AcceleratorStream CreateStream()
    {
        var stream = Accelerator.CreateStream();
        lock (extraStreams) extraStreams.Add(stream);
        return stream;
    }

    /// <summary>Waits for all work queued on the device.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    public override string ToString() => $"{Name} ({Info})";

    /// <summary>
    /// Opens CUDA device <paramref name="index"/> (an index among the devices the driver shows, after
    /// CUDA_VISIBLE_DEVICES). Throws <see cref="GpuUnavailableException"/> naming what was looked for when there is no
    /// driver, no device, or no device with that index. Most callers want <see cref="GpuDevices.Get(int)"/>.
    /// </summary>
    public static GpuDevice OpenCuda(int index, long? memoryCapacity = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var probe = CudaDriverLibrary.Look();
        string asked = $"cuda:{index} was asked for, but ";
        if (probe.Problem is not null)
            throw new GpuUnavailableException(asked + probe.Problem);
        string driver = $"the driver ({probe.LoadedFrom}, CUDA {probe.DriverVersionText})";
        if (probe.DeviceCount == 0)
            throw new GpuUnavailableException($"{asked}{driver} reports no CUDA device{CudaDriverLibrary.VisibleDevicesNote()}");
        if (index >= probe.DeviceCount)
            throw new GpuUnavailableException(
                $"{asked}{driver} reports {probe.DeviceCount} device(s), cuda:0 to cuda:{probe.DeviceCount - 1}{CudaDriverLibrary.VisibleDevicesNote()}");

        CudaDriverLibrary.InstallResolver();
        var context = Context.Create(builder => GpuContextSettings.Apply(builder.Cuda()));
        try
        {
            int accepted = context.GetCudaDevices().Count;
            if (index >= accepted)
                throw new GpuUnavailableException(
                    $"{asked}ILGPU accepts only {accepted} of the {probe.DeviceCount} device(s) {driver} reports: " +
                    "it skips devices for which it knows no PTX ISA (driver older than CUDA 11 on a newer GPU)");
            var accelerator = context.CreateCudaAccelerator(index);
            var info = new GpuDeviceInfo(
                accelerator.Name,
                (accelerator.Architecture.Major, accelerator.Architecture.Minor),
                accelerator.MemorySize,
                accelerator.NumMultiprocessors,
                accelerator.WarpSize,
                accelerator.MaxNumThreadsPerGroup,
                accelerator.MaxSharedMemoryPerGroup,
                $"{accelerator.DriverVersion.Major}.{accelerator.DriverVersion.Minor}",
                accelerator.Capabilities is CudaCapabilityContext caps ? caps.TargetArchitecture.ToString().ToLowerInvariant() : "unknown");
            return new GpuDevice(index, simulated: false, context, accelerator, info, memoryCapacity);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A device backed by ILGPU's CPU accelerator simulating an NVIDIA GPU (<see cref="CPUDevice.Nvidia"/>: warp 32,
    /// 1024 threads a group, one multiprocessor). Every simulated lane is an OS thread: keep problems tiny.
    /// </summary>
    public static GpuDevice OpenSimulated(int index = 0, long? memoryCapacity = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var context = Context.Create(builder => GpuContextSettings.Apply(builder.CPU(CPUDevice.Nvidia)));
        try
        {
            var accelerator = context.CreateCPUAccelerator(0);
            var info = new GpuDeviceInfo(
                "simulated GPU (ILGPU CPU accelerator, NVIDIA warp and group sizes)",
                (0, 0),
                GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, // the CPU accelerator reports an unbounded size; its memory is the host's
                accelerator.NumMultiprocessors,
                accelerator.WarpSize,
                accelerator.MaxNumThreadsPerGroup,
                accelerator.MaxSharedMemoryPerGroup,
                "none",
                "none (runs as .NET code)");
            return new GpuDevice(index, simulated: true, context, accelerator, info, memoryCapacity);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        Accelerator.Synchronize();
        Transfers.Dispose();
        Memory.Dispose();
        lock (extraStreams)
            foreach (var stream in extraStreams) stream.Dispose();
        Accelerator.Dispose();
        Context.Dispose();
    }
}

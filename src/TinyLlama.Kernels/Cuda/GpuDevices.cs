using System.Globalization;

namespace TinyLlama.Kernels;

/// <summary>
/// The process's open devices, one <see cref="GpuDevice"/> per index, opened on first use and kept until the process
/// ends (a context and its compiled kernels are expensive to make, and a training process uses its GPU to the end).
/// Thread-safe: concurrent first uses of one index open it once.
///
/// <para><b>Simulation.</b> <see cref="Simulated"/> is one device of <see cref="GpuDevice.OpenSimulated"/> per process
/// (the CLI's "cuda-sim"). After <see cref="UseSimulator"/> (or with TINYLLAMA_CUDA_SIMULATE=1 in the environment)
/// "cuda:0" is that device: tensors say cuda:0 and every GPU path runs on ILGPU's CPU accelerator. That choice is for
/// the whole process and must be made before a device is opened.</para>
/// </summary>
public static class GpuDevices
{
    /// <summary>The environment variable that turns simulation on for a process, e.g. to try the CLI's GPU path.</summary>
    public const string SimulateVariable = "TINYLLAMA_CUDA_SIMULATE";

    static readonly object Gate = new();
    static readonly Dictionary<int, GpuDevice> Open = [];
    static bool simulate = Environment.GetEnvironmentVariable(SimulateVariable) is "1" or "true";
    static GpuDevice? simulated;

    /// <summary>True when cuda devices of this process are simulated.</summary>
    public static bool IsSimulated
    {
        get { lock (Gate) return simulate; }
    }

    /// <summary>Makes cuda:0 of this process the simulated device. Harmless when already simulating.</summary>
    public static void UseSimulator()
    {
        lock (Gate)
        {
            if (simulate) return;
            if (Open.Count > 0)
                throw new InvalidOperationException(
                    $"GpuDevices.UseSimulator: real devices are already open ({string.Join(", ", Open.Values.Select(d => d.Name))}); " +
                    "choose simulation before the first device is used");
            simulate = true;
        }
    }

    /// <summary>Device cuda:<paramref name="index"/>, opened on first use. Throws <see cref="GpuUnavailableException"/> when there is none.</summary>
    public static GpuDevice Get(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        lock (Gate)
        {
            if (Open.TryGetValue(index, out var device)) return device;
            if (simulate && index != 0)
                throw new GpuUnavailableException(
                    $"cuda:{index} was asked for, but this process simulates CUDA ({SimulateVariable} or UseSimulator) and the simulator has only cuda:0");
            device = simulate ? SimulatedLocked() : GpuDevice.OpenCuda(index);
            Open[index] = device;
            return device;
        }
    }

    /// <summary>The process's simulated device, opened on first use; it does not change what "cuda:N" means.</summary>
    public static GpuDevice Simulated
    {
        get { lock (Gate) return SimulatedLocked(); }
    }

    static GpuDevice SimulatedLocked() => simulated ??= GpuDevice.OpenSimulated();

    /// <summary>
    /// Opens a device option: "cuda", "cuda:N", or "cuda-sim" (<see cref="Simulated"/>). Throws
    /// <see cref="FormatException"/> for other text and <see cref="GpuUnavailableException"/> when the device cannot be opened.
    /// </summary>
    public static GpuDevice Get(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device == SimulatedName ? Simulated : Get(ParseIndex(device));
    }

    /// <summary>The device option that names the simulated device.</summary>
    public const string SimulatedName = "cuda-sim";

    /// <summary>True for the texts <see cref="Get(string)"/> accepts.</summary>
    public static bool IsDeviceName(string device) =>
        device == SimulatedName || device == "cuda"
        || device.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _); // digits only: no sign, no spaces

    /// <summary>The N of "cuda" (0) or "cuda:N".</summary>
    public static int ParseIndex(string device)
    {
        if (device == "cuda") return 0;
        if (device != SimulatedName && IsDeviceName(device)) return int.Parse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture);
        throw new FormatException($"device '{device}' is not a CUDA device: expected 'cuda', 'cuda:N' or 'cuda-sim'");
    }

    /// <summary>The devices opened so far.</summary>
    public static IReadOnlyList<GpuDevice> Opened
    {
        get { lock (Gate) return [.. Open.Values.OrderBy(d => d.Index)]; }
    }
}

using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;

namespace TinyLlama.Kernels;

/// <summary>
/// Finds and loads the CUDA driver library (libcuda / nvcuda) and asks it, before ILGPU does, how many devices there
/// are. ILGPU imports the driver as "cuda", so .NET probes <c>libcuda.so</c>; most Linux systems without the CUDA
/// toolkit ship only <c>libcuda.so.1</c> (the driver package), so we install an import resolver on the ILGPU assembly
/// that tries both. ILGPU also swallows every driver error while listing devices, which would leave the user with
/// "no device" and no reason; probing the driver ourselves lets the error say what happened.
/// </summary>
public static class CudaDriverLibrary
{
    /// <summary>The library name ILGPU 1.5.3 passes to DllImport on Linux and macOS (Src/ILGPU/Runtime/Cuda/CudaAPI.xml).</summary>
    const string IlgpuImportName = "cuda";

    static readonly object Gate = new();
    static bool resolverInstalled;
    static nint handle;
    static string? loadedFrom;

    /// <summary>The file names tried, in order, on this operating system.</summary>
    public static IReadOnlyList<string> CandidateNames { get; } =
        OperatingSystem.IsWindows() ? ["nvcuda.dll"]
        : IsWsl() ? ["/usr/lib/wsl/lib/libcuda.so", "/usr/lib/wsl/lib/libcuda.so.1", "libcuda.so", "libcuda.so.1"]
        : ["libcuda.so", "libcuda.so.1"];

    /// <summary>What one look at the driver found.</summary>
    /// <param name="LoadedFrom">The name that loaded, or null when none did.</param>
    /// <param name="DeviceCount">Devices the driver reports (0 when it did not load or failed).</param>
    /// <param name="DriverVersion">CUDA driver API version as the driver encodes it (1000 × major + 10 × minor), 0 when unknown.</param>
    /// <param name="Problem">Why no device can be used, in words; null when the driver answered with a device count.</param>
    public sealed record Probe(string? LoadedFrom, int DeviceCount, int DriverVersion, string? Problem)
    {
        public string DriverVersionText => DriverVersion == 0 ? "unknown" : $"{DriverVersion / 1000}.{DriverVersion % 1000 / 10}";
    }

    /// <summary>Loads the driver (once per process), initialises it and counts its devices. Never throws.</summary>
    public static Probe Look() => Look(CandidateNames);

    /// <summary>The same with other library names: tests use it to see the messages for a missing or wrong library.</summary>
    public static unsafe Probe Look(IReadOnlyList<string> candidates)
    {
        nint library;
        string? name;
        string loadErrors;
        bool isDefault = ReferenceEquals(candidates, CandidateNames);
        lock (Gate)
        {
            (library, name, loadErrors) = isDefault && handle != 0 ? (handle, loadedFrom, "") : TryLoad(candidates);
            if (isDefault && library != 0) (handle, loadedFrom) = (library, name);
        }
        if (library == 0)
            return new Probe(null, 0, 0,
                $"the CUDA driver library was not found: tried {string.Join(", ", candidates)} ({loadErrors}). " +
                "Install the NVIDIA driver, or add the folder holding libcuda.so.1 to LD_LIBRARY_PATH.");

        if (!NativeLibrary.TryGetExport(library, "cuInit", out nint init)
            || !NativeLibrary.TryGetExport(library, "cuDeviceGetCount", out nint getCount)
            || !NativeLibrary.TryGetExport(library, "cuDriverGetVersion", out nint getVersion))
            return new Probe(name, 0, 0, $"{name} loaded but is not a CUDA driver (no cuInit/cuDeviceGetCount export)");

        int version = 0;
        ((delegate* unmanaged<int*, int>)getVersion)(&version);
        int status = ((delegate* unmanaged<int, int>)init)(0);
        if (status != 0)
            return new Probe(name, 0, version, $"{name} (driver API {VersionText(version)}) failed cuInit: {DriverError(status)}");
        int count = 0;
        status = ((delegate* unmanaged<int*, int>)getCount)(&count);
        if (status != 0)
            return new Probe(name, 0, version, $"{name} (driver API {VersionText(version)}) failed cuDeviceGetCount: {DriverError(status)}");
        return new Probe(name, count, version, null);
    }

    /// <summary>
    /// Makes ILGPU's "cuda" import resolve to the library <see cref="Look()"/> found. Once per process; a no-op when
    /// another resolver is already installed on ILGPU (ILGPU installs its own on WSL, which looks in /usr/lib/wsl/lib).
    /// </summary>
    public static void InstallResolver()
    {
        lock (Gate)
        {
            if (resolverInstalled) return;
            resolverInstalled = true;
            if (IsWsl()) return; // ILGPU sets its own resolver there, and a second one would make it throw
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // Someone else resolves ILGPU's imports already; theirs stands.
            }
        }
    }

    static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != IlgpuImportName && libraryName != "nvcuda") return 0;
        lock (Gate)
        {
            if (handle == 0) (handle, loadedFrom, _) = TryLoad(CandidateNames);
            return handle; // 0 lets .NET fall back to its own probing, which then fails with its usual error
        }
    }

    static (nint Handle, string? Name, string Errors) TryLoad(IReadOnlyList<string> candidates)
    {
        var errors = new List<string>();
        foreach (string name in candidates)
        {
            try
            {
                return (NativeLibrary.Load(name), name, "");
            }
            catch (DllNotFoundException)
            {
                errors.Add($"{name}: not found");
            }
            catch (BadImageFormatException)
            {
                errors.Add($"{name}: wrong format");
            }
        }
        return (0, null, string.Join("; ", errors));
    }

    static string VersionText(int version) => version == 0 ? "unknown" : $"{version / 1000}.{version % 1000 / 10}";

    /// <summary>The driver's codes that a user can act on, by name (cuda.h); others by number.</summary>
    static string DriverError(int status) => status switch
    {
        3 => "CUDA_ERROR_NOT_INITIALIZED (3)",
        34 => "CUDA_ERROR_STUB_LIBRARY (34): this libcuda is the toolkit's stub, not the driver's",
        35 => "CUDA_ERROR_INSUFFICIENT_DRIVER (35): the kernel driver is older than this libcuda",
        100 => "CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is visible" + VisibleDevicesNote(),
        101 => "CUDA_ERROR_INVALID_DEVICE (101)" + VisibleDevicesNote(),
        304 => "CUDA_ERROR_OPERATING_SYSTEM (304)",
        999 => "CUDA_ERROR_UNKNOWN (999): often a driver/kernel-module mismatch; check nvidia-smi",
        _ => $"CUDA error {status}",
    };

    /// <summary>CUDA_VISIBLE_DEVICES hides devices from the driver; an error about devices should say when it is set.</summary>
    public static string VisibleDevicesNote() =>
        Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") is { } visible
            ? $" (CUDA_VISIBLE_DEVICES='{visible}')"
            : "";

    static bool IsWsl()
    {
        try
        {
            return OperatingSystem.IsLinux() && File.ReadAllText("/proc/version").Contains("microsoft", StringComparison.OrdinalIgnoreCase);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}

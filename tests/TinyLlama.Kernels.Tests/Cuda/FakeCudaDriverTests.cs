using System.Diagnostics;

namespace TinyLlama.Kernels.Tests.Cuda;

/// <summary>
/// The driver probe against stand-in libcuda builds compiled here with the C compiler: the calls through function
/// pointers (cuDriverGetVersion, cuInit, cuDeviceGetCount) and how their answers become messages. Skipped where
/// there is no C compiler or the platform is not Linux.
/// </summary>
public class FakeCudaDriverTests
{
    static string Build(string name, int initStatus, int deviceCount, int version)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "builds a Linux shared library");
        string? compiler = new[] { "/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang" }.FirstOrDefault(File.Exists);
        Skip.If(compiler is null, "no C compiler to build a stand-in libcuda");
        string dir = Directory.CreateTempSubdirectory("fake-cuda-").FullName;
        string source = Path.Combine(dir, "fake.c"), library = Path.Combine(dir, name);
        File.WriteAllText(source, $$"""
            int cuDriverGetVersion(int* v) { *v = {{version}}; return 0; }
            int cuInit(unsigned int flags) { return {{initStatus}}; }
            int cuDeviceGetCount(int* n) { *n = {{deviceCount}}; return 0; }
            """);
        var start = new ProcessStartInfo(compiler!) { ArgumentList = { "-shared", "-fPIC", "-o", library, source }, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, errors);
        return library;
    }

    [SkippableFact]
    public void AWorkingDriverReportsItsDevicesAndVersion()
    {
        string library = Build("libcuda.so.1", initStatus: 0, deviceCount: 3, version: 12080);
        var probe = CudaDriverLibrary.Look(["/nonexistent/libcuda.so", library]);
        Directory.Delete(Path.GetDirectoryName(library)!, recursive: true); // loaded already; Linux keeps the mapping
        Assert.Null(probe.Problem);
        Assert.Equal(library, probe.LoadedFrom);
        Assert.Equal(3, probe.DeviceCount);
        Assert.Equal("12.8", probe.DriverVersionText);
    }

    [SkippableTheory]
    [InlineData(100, "CUDA_ERROR_NO_DEVICE (100)")]
    [InlineData(34, "CUDA_ERROR_STUB_LIBRARY (34)")]
    [InlineData(35, "CUDA_ERROR_INSUFFICIENT_DRIVER (35)")]
    [InlineData(12345, "CUDA error 12345")]
    public void AFailedInitIsNamed(int status, string expected)
    {
        string library = Build("libcuda.so", initStatus: status, deviceCount: 0, version: 13000);
        var probe = CudaDriverLibrary.Look([library]);
        Directory.Delete(Path.GetDirectoryName(library)!, recursive: true);
        Assert.Equal(0, probe.DeviceCount);
        Assert.Contains($"{library} (driver API 13.0) failed cuInit: {expected}", probe.Problem);
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels.Tests.Cuda;

/// <summary>
/// Opening devices: the errors when CUDA is missing (this machine has no driver, and the tests also feed the probe
/// names that cannot load), and the simulated device with its allocator, streams and pinned transfers.
/// </summary>
public class GpuDeviceTests
{
    [Fact]
    public void AMissingLibraryIsNamedInTheProblem()
    {
        var probe = CudaDriverLibrary.Look(["libtinyllama-no-such-cuda.so", "libtinyllama-no-such-cuda.so.1"]);
        Assert.Null(probe.LoadedFrom);
        Assert.Equal(0, probe.DeviceCount);
        Assert.Contains("libtinyllama-no-such-cuda.so, libtinyllama-no-such-cuda.so.1", probe.Problem);
        Assert.Contains("not found", probe.Problem);
    }

    [SkippableFact]
    public void ALibraryThatIsNotTheDriverIsRecognised()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "uses glibc as the wrong library");
        var probe = CudaDriverLibrary.Look(["libc.so.6"]);
        Assert.Equal("libc.so.6", probe.LoadedFrom);
        Assert.Contains("not a CUDA driver", probe.Problem);
    }

    [Fact]
    public void TheDefaultCandidatesIncludeTheDriverPackagesSoname()
    {
        if (OperatingSystem.IsWindows()) Assert.Equal(["nvcuda.dll"], CudaDriverLibrary.CandidateNames);
        else
        {
            Assert.Contains("libcuda.so", CudaDriverLibrary.CandidateNames);
            Assert.Contains("libcuda.so.1", CudaDriverLibrary.CandidateNames);
        }
    }

    [SkippableFact]
    public void WithoutADriverOpeningCudaSaysWhatWasLookedFor()
    {
        var probe = CudaDriverLibrary.Look();
        Skip.If(probe.Problem is null && probe.DeviceCount > 0, "this machine has a CUDA device");
        var error = Assert.Throws<GpuUnavailableException>(() => GpuDevice.OpenCuda(0));
        Assert.StartsWith("cuda:0 was asked for, but ", error.Message);
        if (probe.LoadedFrom is null)
        {
            Assert.Contains("libcuda.so.1", error.Message);
            Assert.Contains("not found", error.Message);
        }
        else
        {
            Assert.Contains(probe.LoadedFrom, error.Message);
        }
    }

    [SkippableFact]
    public void AnIndexPastTheDevicesIsRefusedWithTheCount()
    {
        var probe = CudaDriverLibrary.Look();
        int index = probe.DeviceCount + 3;
        var error = Assert.Throws<GpuUnavailableException>(() => GpuDevice.OpenCuda(index));
        Assert.Contains($"cuda:{index} was asked for", error.Message);
        if (probe.Problem is null) Assert.Contains($"reports {probe.DeviceCount} device", error.Message);
    }

    [Fact]
    public void DeviceNamesParseAsTensorsWriteThem()
    {
        Assert.Equal(0, GpuDevices.ParseIndex("cuda"));
        Assert.Equal(3, GpuDevices.ParseIndex("cuda:3"));
        foreach (string bad in new[] { "cuda:", "cuda:-1", "cuda:+1", "cuda: 1", "gpu", "cuda:x", "cpu", "cuda-sim" })
            Assert.Contains("expected 'cuda', 'cuda:N' or 'cuda-sim'", Assert.Throws<FormatException>(() => GpuDevices.ParseIndex(bad)).Message);
    }

    [Fact]
    public void TheSimulatedDeviceRunsKernelsAllocatesAndTransfers()
    {
        using var device = GpuDevice.OpenSimulated();
        Assert.True(device.IsSimulated);
        Assert.Equal("cuda:0", device.Name);
        Assert.Equal(32, device.Info.WarpSize);
        Assert.Contains("simulated", device.ToString());

        var rng = new Random(21);
        float[] values = Enumerable.Range(0, 1000).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        using var source = device.Memory.Allocate(values.Length * sizeof(float));
        using var target = device.Memory.Allocate(values.Length * sizeof(ushort));
        device.Transfers.Upload<float>(values, source.View<float>());
        device.Kernels.Get<CastGpu>().Convert(device.Stream, source.View<float>(), target.View<ushort>());
        var result = new ushort[values.Length];
        device.Transfers.Download(target.View<ushort>(), result);
        Assert.Equal(values.Select(BFloat16.FromFloatReference), result);
        Assert.Equal(values.Length * sizeof(float), device.Transfers.BytesUploaded);
        Assert.Equal(2, device.Memory.Statistics.DriverAllocations);
    }

    [Fact]
    public void ExtraStreamsBelongToTheDevice()
    {
        using var device = GpuDevice.OpenSimulated();
        var stream = device.CreateStream();
        Assert.NotSame(device.Stream, stream);
        using var block = device.Memory.Allocate(4096);
        block.Bytes.MemSetToZero(stream);
        stream.Synchronize();
    }

    [Fact]
    public void TransfersSplitIntoChunksKeepEveryByte()
    {
        using var device = GpuDevice.OpenSimulated();
        using var transfers = new GpuTransfers(device.Accelerator, device.Stream, chunkBytes: 96); // not a multiple of 8 on purpose
        var rng = new Random(8);
        foreach (int count in new[] { 0, 1, 11, 12, 13, 250 })
        {
            double[] values = Enumerable.Range(0, count).Select(_ => rng.NextDouble()).ToArray();
            using var block = device.Memory.Allocate(count * sizeof(double));
            transfers.Upload<double>(values, block.View<double>(count));
            var back = new double[count];
            Array.Fill(back, double.NaN);
            transfers.Download(block.View<double>(count), back);
            Assert.Equal(values, back);
        }
    }

    [Fact]
    public void TransfersRefuseMismatchedLengths()
    {
        using var device = GpuDevice.OpenSimulated();
        using var block = device.Memory.Allocate(40);
        Assert.Throws<ArgumentException>(() => device.Transfers.Upload<float>(new float[9], block.View<float>(10)));
        Assert.Throws<ArgumentException>(() => device.Transfers.Download(block.View<float>(10), new float[11]));
    }

    [Fact]
    public async Task TheRegistryOpensTheSimulatedDeviceOncePerProcess()
    {
        var opened = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => GpuDevices.Simulated)));
        Assert.All(opened, d => Assert.Same(opened[0], d));
        Assert.Same(opened[0], GpuDevices.Get(GpuDevices.SimulatedName));
        Assert.True(opened[0].IsSimulated);
    }

    [SkippableFact]
    public void AFailedOpenIsNotRememberedAsADevice()
    {
        var probe = CudaDriverLibrary.Look();
        Skip.If(probe.Problem is null && probe.DeviceCount > 0, "this machine has a CUDA device");
        Skip.If(GpuDevices.IsSimulated, "this process simulates cuda:0");
        Assert.Throws<GpuUnavailableException>(() => GpuDevices.Get("cuda"));
        Assert.Throws<GpuUnavailableException>(() => GpuDevices.Get(0)); // tried again, not a cached half-open device
        Assert.DoesNotContain(GpuDevices.Opened, d => d.Index == 0 && !d.IsSimulated);
    }

    [Fact]
    public void ADevicesOutOfMemoryErrorNamesTheDevice()
    {
        using var device = GpuDevice.OpenSimulated(memoryCapacity: 1L << 20);
        var error = Assert.Throws<GpuOutOfMemoryException>(() => device.Memory.Allocate(3L << 20));
        Assert.StartsWith("cuda:0: out of memory: a request of 3.00 MiB", error.Message);
    }

    [Fact]
    public void DisposingTheDeviceTwiceIsHarmless()
    {
        var device = GpuDevice.OpenSimulated();
        device.Memory.Allocate(100).Dispose();
        var outliving = device.Memory.Allocate(100);
        device.Dispose();
        device.Dispose();
        outliving.Dispose(); // a block returned after its device closed (e.g. by a finalizer) is dropped quietly
        Assert.Equal(0, device.Memory.Statistics.BlocksInUse);
    }
}

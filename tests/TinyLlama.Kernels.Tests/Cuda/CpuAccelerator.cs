using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace TinyLlama.Kernels.Tests.Cuda;

/// <summary>
/// ILGPU's CPU accelerator simulating an NVIDIA device (warp 32, up to 1024 threads per group), shared by every
/// GPU-kernel test in the assembly: kernels compile once per process. It runs every simulated lane on an OS
/// thread, so tests keep to a few groups. Tests that use it share one xunit collection, never running in parallel.
/// </summary>
public sealed class CpuAcceleratorFixture : IDisposable
{
    public Context Context { get; }
    public Accelerator Accelerator { get; }
    public GpuKernelSet Kernels { get; }
    public AcceleratorStream Stream => Accelerator.DefaultStream;

    public CpuAcceleratorFixture()
    {
        Context = Context.Create(builder => GpuContextSettings.Apply(builder.CPU(CPUDevice.Nvidia)));
        Accelerator = Context.CreateCPUAccelerator(0);
        Kernels = new GpuKernelSet(Accelerator);
    }

    /// <summary>A device buffer holding a copy of <paramref name="values"/>.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var buffer = Accelerator.Allocate1D<T>(Math.Max(values.Length, 1));
        ArrayView<T> view = buffer.View;
        if (values.Length > 0) view.SubView(0, values.Length).CopyFromCPU(values);
        return buffer;
    }

    /// <summary>A device buffer of <paramref name="length"/> elements, every byte 0xFF (NaN for floats), so unwritten elements show.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Poisoned<T>(int length) where T : unmanaged
    {
        var poison = new T[Math.Max(length, 1)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(poison.AsSpan()).Fill(0xFF);
        return Upload<T>(poison);
    }

    public T[] Download<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer) where T : unmanaged => Download((ArrayView<T>)buffer.View);

    public T[] Download<T>(ArrayView<T> view) where T : unmanaged
    {
        Stream.Synchronize();
        return view.GetAsArray(Stream);
    }

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class CpuAcceleratorCollection : ICollectionFixture<CpuAcceleratorFixture>
{
    public const string Name = "ILGPU CPU accelerator";
}

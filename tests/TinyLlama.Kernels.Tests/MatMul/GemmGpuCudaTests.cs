using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>
/// A CUDA device, when the machine has one (sm_80 or later for the tensor cores); every test here is skipped
/// otherwise. Built lazily so machines without a GPU pay nothing.
/// </summary>
public sealed class CudaDeviceFixture : IDisposable
{
    readonly Lazy<(Context Context, Accelerator Accelerator)?> device = new(Create);

    static (Context, Accelerator)? Create()
    {
        try
        {
            var context = Context.Create(builder => GpuContextSettings.Apply(builder.Cuda()));
            var found = context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.Cuda);
            if (found is null)
            {
                context.Dispose();
                return null;
            }
            return (context, found.CreateAccelerator(context));
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            return null; // no driver
        }
    }

    /// <summary>The CUDA accelerator, or a skip when there is none.</summary>
    public Accelerator Accelerator
    {
        get
        {
            Skip.If(device.Value is null, "no CUDA device");
            return device.Value!.Value.Accelerator;
        }
    }

    public void Dispose()
    {
        if (device.IsValueCreated && device.Value is { } d)
        {
            d.Accelerator.Dispose();
            d.Context.Dispose();
        }
    }
}

/// <summary>
/// The same checks as GemmGpuTests and MmaFragmentTests, on a real GPU: the instructions the CPU accelerator can
/// only emulate (mma.sync, ldmatrix, cp.async with zero-fill, the 4-stage opt-in past 48 KB). Larger shapes than
/// the CPU accelerator can afford, still small enough for the double-precision reference.
/// </summary>
public class GemmGpuCudaTests(CudaDeviceFixture cuda) : IClassFixture<CudaDeviceFixture>
{
    public static TheoryData<bool, bool, GemmGpuPipeline> TransposesAndPipelines() => GemmGpuTests.TransposesAndPipelines();

    GemmGpu Gemm(Accelerator accelerator)
    {
        var gemm = new GemmGpu(accelerator);
        Skip.IfNot(gemm.TensorCores, $"{accelerator.Name} has no bf16 tensor cores");
        return gemm;
    }

    [SkippableFact]
    public void MmaFragmentLayoutIsWhatThePtxIsaSays()
    {
        Gemm(cuda.Accelerator);
        MmaFragmentTests.CheckMmaTile(cuda.Accelerator);
    }

    [SkippableFact]
    public void LdmatrixDeliversWhatThePtxIsaSays()
    {
        Gemm(cuda.Accelerator);
        MmaFragmentTests.CheckLdmatrix(cuda.Accelerator);
    }

    [SkippableTheory]
    [MemberData(nameof(TransposesAndPipelines))]
    public void RaggedProductsOnTensorCores(bool transA, bool transB, GemmGpuPipeline pipeline)
    {
        var accelerator = cuda.Accelerator;
        GemmGpuCheck.Run(accelerator, Gemm(accelerator), new GemmGpuCase(transA, transB, 515, 259, 333)
        {
            Options = new GemmGpuOptions { Path = GemmGpuPath.TensorCore, Pipeline = pipeline },
        });
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)] // 64 KB: needs the cuFuncSetAttribute opt-in
    public void CpAsyncStagesBf16OutputAccumulating(int stages)
    {
        var accelerator = cuda.Accelerator;
        GemmGpuCheck.Run(accelerator, Gemm(accelerator), new GemmGpuCase(false, true, 256, 384, 520)
        {
            Options = new GemmGpuOptions { Path = GemmGpuPath.TensorCore, Pipeline = GemmGpuPipeline.CpAsync, Stages = stages },
            Bf16Output = true, Beta = 1f, Alpha = 0.5f,
        });
    }

    [SkippableFact]
    public void BatchedUnalignedAndScalarLoads()
    {
        var accelerator = cuda.Accelerator;
        var gemm = Gemm(accelerator);
        GemmGpuCheck.Run(accelerator, gemm, new GemmGpuCase(true, false, 130, 66, 97)
        {
            Options = new GemmGpuOptions { Path = GemmGpuPath.TensorCore }, Batch = 3, Padding = 3, BroadcastB = true,
        });
        GemmGpuCheck.Run(accelerator, gemm, new GemmGpuCase(false, false, 130, 66, 96)
        {
            Options = new GemmGpuOptions { Path = GemmGpuPath.TensorCore, Pipeline = GemmGpuPipeline.CpAsync, ScalarLoads = true },
        });
    }

    [SkippableFact]
    public void SimtF32()
    {
        var accelerator = cuda.Accelerator;
        GemmGpuCheck.Run(accelerator, new GemmGpu(accelerator), new GemmGpuCase(true, true, 200, 100, 300)
        {
            Options = new GemmGpuOptions { Path = GemmGpuPath.Simt }, F32Inputs = true, Beta = 0.5f,
        });
    }
}

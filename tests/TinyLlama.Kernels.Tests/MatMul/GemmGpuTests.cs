using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>
/// The GPU GEMM on ILGPU's CPU accelerator, against a double-precision scalar product of the same bf16 (or f32)
/// inputs. The tensor-core kernel runs with its inline PTX emulated at the register level, so its tiling, swizzle,
/// fragments, pipeline and edges are all exercised; shapes are a few groups at most (every simulated lane is an OS
/// thread). C is poisoned (all bits set, NaN) where it is not an input, so an unwritten element fails, and the
/// elements of C outside the product are checked to be left exactly as they were.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class GemmGpuTests(CpuAcceleratorFixture gpu)
{
    static readonly GemmGpuOptions TensorCore = new() { Path = GemmGpuPath.TensorCore };
    static readonly GemmGpuOptions CpAsync = TensorCore with { Pipeline = GemmGpuPipeline.CpAsync };
    static readonly GemmGpuOptions Simt = new() { Path = GemmGpuPath.Simt };

    GemmGpu Gemm => gpu.Kernels.Get<GemmGpu>();

    public static TheoryData<bool, bool, GemmGpuPipeline> TransposesAndPipelines()
    {
        var data = new TheoryData<bool, bool, GemmGpuPipeline>();
        foreach (var pipeline in new[] { GemmGpuPipeline.RegisterStaged, GemmGpuPipeline.CpAsync })
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
            data.Add(transA, transB, pipeline);
        return data;
    }

    [Theory]
    [MemberData(nameof(TransposesAndPipelines))]
    public void TensorCoreOneTileEveryTranspose(bool transA, bool transB, GemmGpuPipeline pipeline) =>
        Run(new GemmGpuCase(transA, transB, 128, 128, 32) { Options = TensorCore with { Pipeline = pipeline } });

    [Theory]
    [MemberData(nameof(TransposesAndPipelines))]
    public void TensorCoreRaggedEveryTranspose(bool transA, bool transB, GemmGpuPipeline pipeline) =>
        Run(new GemmGpuCase(transA, transB, 17, 9, 23) { Options = TensorCore with { Pipeline = pipeline } });

    [Theory]
    [InlineData(false, true, GemmGpuPipeline.RegisterStaged)]
    [InlineData(true, false, GemmGpuPipeline.CpAsync)]
    public void TensorCoreRaggedAcrossTilesInEveryDimension(bool transA, bool transB, GemmGpuPipeline pipeline) =>
        Run(new GemmGpuCase(transA, transB, 129, 70, 40) { Options = TensorCore with { Pipeline = pipeline } });

    [Fact]
    public void TensorCoreBf16OutputAccumulatesIntoC() =>
        Run(new GemmGpuCase(false, false, 40, 24, 48) { Options = TensorCore, Bf16Output = true, Alpha = 0.5f, Beta = 1f });

    [Fact]
    public void TensorCoreF32OutputWithAlphaAndBeta() =>
        Run(new GemmGpuCase(true, true, 33, 17, 70) { Options = TensorCore, Alpha = -1.5f, Beta = 0.25f });

    [Fact]
    public void TensorCoreBatchedWithPaddedRowsAndABroadcastB() =>
        Run(new GemmGpuCase(false, true, 20, 12, 24) { Options = TensorCore, Batch = 3, Padding = 8, BroadcastB = true });

    [Fact]
    public void TensorCoreCpAsyncBatched() =>
        Run(new GemmGpuCase(true, true, 20, 12, 40) { Options = CpAsync, Batch = 2, Padding = 8, Beta = 1f });

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void TensorCorePipelineDepths(int stages) =>
        Run(new GemmGpuCase(false, false, 24, 16, 136) { Options = CpAsync with { Stages = stages } });

    [Fact]
    public void TensorCoreUnalignedLeadingDimensionsTakeTheGuardedLoads() =>
        Run(new GemmGpuCase(true, false, 19, 13, 37) { Options = TensorCore, Padding = 3 });

    [Theory]
    [InlineData(GemmGpuPipeline.RegisterStaged)]
    [InlineData(GemmGpuPipeline.CpAsync)]
    public void TensorCoreForcedScalarLoads(GemmGpuPipeline pipeline) =>
        Run(new GemmGpuCase(false, true, 16, 16, 40) { Options = TensorCore with { ScalarLoads = true, Pipeline = pipeline }, Bf16Output = true });

    [Fact]
    public void KZeroScalesC() =>
        Run(new GemmGpuCase(false, false, 9, 5, 0) { Options = TensorCore, Beta = 0.5f, Alpha = 2f });

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void SimtF32EveryTranspose(bool transA, bool transB) =>
        Run(new GemmGpuCase(transA, transB, 37, 33, 45) { Options = Simt, F32Inputs = true, Alpha = 0.75f, Beta = 0.5f });

    [Fact]
    public void SimtBf16F32Batched() =>
        Run(new GemmGpuCase(true, false, 21, 34, 19) { Options = Simt, Batch = 2, Padding = 5 });

    [Fact]
    public void SimtBf16OutputAccumulates() =>
        Run(new GemmGpuCase(false, true, 33, 31, 64) { Options = Simt, Bf16Output = true, Beta = 1f });

    [Fact]
    public void TensorCoreAndSimtAgree()
    {
        // Same bf16 inputs through both kernels; each within its bound of the reference, hence of each other.
        Run(new GemmGpuCase(true, true, 48, 40, 56) { Options = TensorCore, Seed = 99 });
        Run(new GemmGpuCase(true, true, 48, 40, 56) { Options = Simt, Seed = 99 });
    }

    [Fact]
    public void TestBuffersAreAlignedSoTheVectorLoadsAreExercised()
    {
        // The 16-byte paths (cp.async, or one ld.global.v4 per chunk) are taken only for 16-byte aligned operands;
        // the tests above with ld a multiple of 8 rely on the CPU accelerator's buffers being aligned.
        using var buffer = gpu.Upload<ushort>(new ushort[40]);
        Assert.True(GemmGpu.CanCopy16(GemmGpuCheck.View(buffer, 40).LoadEffectiveAddressAsPtr().ToInt64(), 8, 16));
        Assert.False(GemmGpu.CanCopy16(GemmGpuCheck.View(buffer, 40).SubView(1, 16).LoadEffectiveAddressAsPtr().ToInt64(), 8, 16));
        Assert.False(GemmGpu.CanCopy16(0, 12, 0));
        Assert.False(GemmGpu.CanCopy16(0, 8, 4));
    }

    void Run(GemmGpuCase t) => GemmGpuCheck.Run(gpu.Accelerator, Gemm, t);
}

using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>Bad arguments are refused on the host, before any launch, with a message that names the argument.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public class GemmGpuValidationTests(CpuAcceleratorFixture gpu)
{
    GemmGpu Gemm => gpu.Kernels.Get<GemmGpu>();

    ArgumentException Refused(Action call, string parameter, string fragment)
    {
        var error = Assert.ThrowsAny<ArgumentException>(call);
        Assert.Equal(parameter, error.ParamName);
        Assert.Contains(fragment, error.Message);
        Assert.StartsWith("GemmGpu.Multiply:", error.Message);
        return error;
    }

    [Fact]
    public void ShortOperandsAreRefused()
    {
        // (m, n, k) = (4, 3, 8): A needs 32 elements, B 24, C 12.
        using var a = gpu.Upload<ushort>(new ushort[32]);
        using var b = gpu.Upload<ushort>(new ushort[24]);
        using var c = gpu.Poisoned<float>(12);
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, 1f, View(a, 31), 8, b.View, 3, 0f, c.View, 3), "a",
            "A has 31 elements");
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, 1f, a.View, 8, View(b, 23), 3, 0f, c.View, 3), "b",
            "B has 23 elements");
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, 1f, a.View, 8, b.View, 3, 0f, View(c, 11), 3), "c",
            "C has 11 elements");
    }

    [Fact]
    public void LeadingDimensionsBelowTheRowAreRefused()
    {
        using var a = gpu.Upload<ushort>(new ushort[64]);
        using var c = gpu.Poisoned<float>(64);
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, 1f, a.View, 7, a.View, 3, 0f, c.View, 3), "lda", "lda = 7");
        Refused(() => Gemm.Multiply(gpu.Stream, false, true, 4, 3, 8, 1f, a.View, 8, a.View, 7, 0f, c.View, 3), "ldb", "ldb = 7");
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, 1f, a.View, 8, a.View, 3, 0f, c.View, 2), "ldc", "ldc = 2");
    }

    [Fact]
    public void BatchArgumentsAreRefused()
    {
        using var a = gpu.Upload<ushort>(new ushort[256]);
        using var c = gpu.Poisoned<float>(256);
        Refused(() => Gemm.MultiplyBatched(gpu.Stream, false, false, 2, 2, 2, 1f, a.View, 2, 4, a.View, 2, 4, 0f, c.View, 2, 0, 3),
            "strideC", "strideC = 0 with batch = 3");
        Refused(() => Gemm.MultiplyBatched(gpu.Stream, false, false, 2, 2, 2, 1f, a.View, 2, -1, a.View, 2, 4, 0f, c.View, 2, 4, 3),
            "strideA", "strideA must be >= 0");
        Refused(() => Gemm.MultiplyBatched(gpu.Stream, false, false, 2, 2, 2, 1f, a.View, 2, 4, a.View, 2, 4, 0f, c.View, 2, 4, -1),
            "batch", "batch must be >= 0");
        // The last entry of B would end past the buffer: (100 − 1)·4 + (2 − 1)·2 + 2 = 400 > 256.
        Refused(() => Gemm.MultiplyBatched(gpu.Stream, false, false, 2, 2, 2, 1f, a.View, 2, 0, a.View, 2, 0, 0f, c.View, 2, 4, 100),
            "c", "C has 256 elements");
        Refused(() => Gemm.MultiplyBatched(gpu.Stream, false, false, 2, 2, 2, 1f, a.View, 2, 0, a.View, 2, 4, 0f, c.View, 2, 2, 100),
            "b", "expected at least (100 − 1)·4 + (2 − 1)·2 + 2 = 400");
    }

    [Fact]
    public void OptionsAndDimsAreRefused()
    {
        using var a = gpu.Upload<ushort>(new ushort[64]);
        using var c = gpu.Poisoned<float>(64);
        using var f = gpu.Upload<float>(new float[64]);
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, -1, 3, 8, 1f, a.View, 8, a.View, 3, 0f, c.View, 3), "m", "expected all ≥ 0");
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, 1f, a.View, 8, a.View, 3, 0f, c.View, 3,
            new GemmGpuOptions { Pipeline = GemmGpuPipeline.CpAsync, Stages = 5 }), "options", "options.Stages = 5");
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, 1f, a.View, 8, a.View, 3, 0f, c.View, 3,
            new GemmGpuOptions { Stages = 3 }), "options", "applies to the cp.async pipeline");
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, 1f, f.View, 8, f.View, 3, 0f, c.View, 3,
            new GemmGpuOptions { Path = GemmGpuPath.TensorCore }), "options", "takes bf16 operands");
        Refused(() => Gemm.Multiply(gpu.Stream, false, false, 4, 3, 8, float.NaN, a.View, 8, a.View, 3, 0f, c.View, 3), "alpha",
            "alpha = NaN");
    }

    [Fact]
    public void EmptyProductsLaunchNothingAndLeaveCAlone()
    {
        using var a = gpu.Upload<ushort>(new ushort[1]);
        using var c = gpu.Poisoned<float>(4);
        Gemm.Multiply(gpu.Stream, false, false, 0, 4, 3, 1f, a.View, 3, a.View, 4, 0f, c.View, 4);
        Gemm.MultiplyBatched(gpu.Stream, false, false, 2, 2, 2, 1f, a.View, 2, 4, a.View, 2, 4, 0f, c.View, 2, 4, 0);
        Assert.All(gpu.Download(c), x => Assert.Equal(0xFFFF_FFFFu, BitConverter.SingleToUInt32Bits(x)));
    }

    static ArrayView<T> View<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, int length) where T : unmanaged =>
        buffer.View.SubView(0, length);
}

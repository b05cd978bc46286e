using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class PointwiseGpuTests(CpuAcceleratorFixture gpu)
{
    // 1237 elements: more than the 512 threads of the test grid (the grid-stride loop turns), odd.
    const int N = 1237;

    public static TheoryData<PointwiseOp, float, float> Cases => new()
    {
        { PointwiseOp.Identity, -1f, 0f },      // neg
        { PointwiseOp.Identity, 0.37f, 0f },    // scale
        { PointwiseOp.Identity, 1f, -2.5f },    // add a scalar
        { PointwiseOp.Exp, 1f, 0f },
        { PointwiseOp.Log, 2f, 1f },
        { PointwiseOp.Square, 1f, 0f },
        { PointwiseOp.Sqrt, -0.5f, 0.125f },
        { PointwiseOp.Reciprocal, 1f, 0f },
    };

    // Log and sqrt take positive inputs; every other op takes both signs (RandomData never gives 0).
    static float[] Inputs(PointwiseOp op)
    {
        float[] x = RandomData.Array<float>(N, 1, op == PointwiseOp.Exp ? 8 : 4);
        if (op is PointwiseOp.Log or PointwiseOp.Sqrt) x = Array.ConvertAll(x, MathF.Abs);
        return x;
    }

    [Theory, MemberData(nameof(Cases))]
    public void F32MatchesTheReference(PointwiseOp op, float scale, float shift)
    {
        float[] x = Inputs(op);
        var expected = new float[N];
        Pointwise.MapReference(x, expected, op, scale, shift);
        using var gx = gpu.Upload<float>(x);
        using var gy = gpu.Poisoned<float>(N);
        gpu.Kernels.Get<PointwiseGpu>().Map(gpu.Stream, gx.View, gy.View, op, scale, shift);
        AssertClose.All<float>(expected, gpu.Download(gy), AssertClose.Elementwise<float>(), $"f32 {op}·{scale}+{shift}");
    }

    [Theory, MemberData(nameof(Cases))]
    public void Bf16MatchesTheReference(PointwiseOp op, float scale, float shift)
    {
        ushort[] bits = Bf16Data.Round(Inputs(op));
        var expected = new float[N];
        Pointwise.MapReference(Bf16Data.Widen(bits), expected, op, scale, shift);
        using var gx = gpu.Upload<ushort>(bits);
        using var gy = gpu.Poisoned<ushort>(N);
        gpu.Kernels.Get<PointwiseGpu>().Map(gpu.Stream, gx.View, gy.View, op, scale, shift);
        AssertClose.All<float>(expected, Bf16Data.Widen(gpu.Download(gy)), Bf16Data.Tolerance, $"bf16 {op}·{scale}+{shift}");
    }

    [Fact]
    public void InPlaceMapOverwritesItsInput()
    {
        float[] x = Inputs(PointwiseOp.Identity);
        var expected = new float[N];
        Pointwise.MapReference(x, expected, PointwiseOp.Identity, 3f, 1f);
        using var gx = gpu.Upload<float>(x);
        gpu.Kernels.Get<PointwiseGpu>().Map(gpu.Stream, gx.View, gx.View, PointwiseOp.Identity, 3f, 1f);
        AssertClose.All<float>(expected, gpu.Download(gx), AssertClose.Elementwise<float>(), "in place");
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeLaunch()
    {
        var pointwise = gpu.Kernels.Get<PointwiseGpu>();
        using var x = gpu.Upload<float>(new float[5]);
        using var y = gpu.Poisoned<float>(4);
        var e1 = Assert.Throws<ArgumentException>(() => pointwise.Map(gpu.Stream, x.View, y.View, PointwiseOp.Exp));
        Assert.Contains("y has 4 elements", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => pointwise.Map(gpu.Stream, x.View, x.View, (PointwiseOp)9));
        Assert.Contains("not a PointwiseOp", e2.Message);
    }
}

using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class BroadcastGpuTests(CpuAcceleratorFixture gpu)
{
    public static TheoryData<int[], int[]> Cases => BroadcastTests.Cases;

    public static TheoryData<int[], int[]> SumCases => BroadcastTests.SumCases;

    [Theory, MemberData(nameof(Cases))]
    public void BinaryF32AndBf16MatchTheReference(int[] aShape, int[] bShape)
    {
        int n = (int)Broadcast.Count(Broadcast.Shape(aShape, bShape));
        float[] a = RandomData.Array<float>((int)Broadcast.Count(aShape), 1);
        float[] b = RandomData.Array<float>((int)Broadcast.Count(bShape), 2);
        var (a16, a16Values) = Bf16Data.Array(a.Length, 3);
        var (b16, b16Values) = Bf16Data.Array(b.Length, 4);
        var broadcast = gpu.Kernels.Get<BroadcastGpu>();
        using var ga = gpu.Upload<float>(a);
        using var gb = gpu.Upload<float>(b);
        using var ga16 = gpu.Upload<ushort>(a16);
        using var gb16 = gpu.Upload<ushort>(b16);
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Mul })
        {
            var expected = new float[n];
            Broadcast.BinaryReference(a, aShape, b, bShape, expected, op);
            using var output = gpu.Poisoned<float>(n);
            broadcast.Binary(gpu.Stream, ga.View, aShape, gb.View, bShape, output.View, op);
            AssertClose.All<float>(expected, gpu.Download(output), AssertClose.Elementwise<float>(), $"f32 {op}");

            Broadcast.BinaryReference(a16Values, aShape, b16Values, bShape, expected, op);
            using var output16 = gpu.Poisoned<ushort>(n);
            broadcast.Binary(gpu.Stream, ga16.View, aShape, gb16.View, bShape, output16.View, op);
            AssertClose.All<float>(expected, Bf16Data.Widen(gpu.Download(output16)), Bf16Data.Tolerance, $"bf16 {op}");
        }
    }

    [Theory, MemberData(nameof(SumCases))]
    public void SumToShapeF32AndBf16MatchTheReference(int[] outShape, int[] targetShape)
    {
        int n = (int)Broadcast.Count(outShape), t = (int)Broadcast.Count(targetShape);
        float[] dOut = RandomData.Array<float>(n, 5);
        var expected = new float[t];
        Broadcast.SumToShapeReference(dOut, outShape, expected, targetShape);
        var broadcast = gpu.Kernels.Get<BroadcastGpu>();
        using var g = gpu.Upload<float>(dOut);
        using var output = gpu.Poisoned<float>(t);
        broadcast.SumToShape(gpu.Stream, g.View, outShape, output.View, targetShape);
        AssertClose.All<float>(expected, gpu.Download(output), AssertClose.Reduction<float>(), "sum to shape f32");

        var (d16, d16Values) = Bf16Data.Array(n, 6);
        Broadcast.SumToShapeReference(d16Values, outShape, expected, targetShape);
        using var g16 = gpu.Upload<ushort>(d16);
        using var output16 = gpu.Poisoned<ushort>(t);
        broadcast.SumToShape(gpu.Stream, g16.View, outShape, output16.View, targetShape);
        AssertClose.All<float>(expected, Bf16Data.Widen(gpu.Download(output16)), Bf16Data.Tolerance, "sum to shape bf16");
    }

    [Fact]
    public void BadShapesAreRefusedBeforeLaunch()
    {
        var broadcast = gpu.Kernels.Get<BroadcastGpu>();
        using var a = gpu.Upload<float>(new float[12]);
        using var b = gpu.Upload<float>(new float[4]);
        using var output = gpu.Poisoned<float>(11);
        var e1 = Assert.Throws<ArgumentException>(() => broadcast.Binary(gpu.Stream, a.View, [3, 4], b.View, [4], output.View, BinaryOp.Add));
        Assert.Contains("output has 11 elements", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => broadcast.Binary(gpu.Stream, a.View, [3, 4], b.View, [2, 2], output.View, BinaryOp.Mul));
        Assert.Contains("do not broadcast", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => broadcast.Binary(gpu.Stream, a.View, [3, 4], b.View, [5], output.View, BinaryOp.Add));
        Assert.Contains("do not broadcast", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => broadcast.SumToShape(gpu.Stream, a.View, [3, 4], b.View, [2, 2]));
        Assert.Contains("targetShape", e4.Message);
    }
}

[Collection(CpuAcceleratorCollection.Name)]
public class BroadcastStridedGpuTests(CpuAcceleratorFixture gpu)
{
    [Fact]
    public void NonContiguousOperandViewsMatchTheReferenceOnMaterialisedViews()
    {
        // a: the transpose of a (5, 4) buffer viewed as (4, 5), offset into a larger buffer; b: every other element of a row.
        float[] aBuffer = RandomData.Array<float>(3 + 20, 1);
        float[] bBuffer = RandomData.Array<float>(11, 2);
        var aView = StridedLayout.Create([3, 1, 4, 5], [0, 0, 1, 4], 3); // (3,1,4,5) with a broadcast leading axis
        var bView = StridedLayout.Create([5], [2], 1);
        float[] a = new float[(int)aView.Count], b = new float[(int)bView.Count];
        StridedCopy.CopyReference<float>(aBuffer, aView, a);
        StridedCopy.CopyReference<float>(bBuffer, bView, b);
        var broadcast = gpu.Kernels.Get<BroadcastGpu>();
        using var ga = gpu.Upload<float>(aBuffer);
        using var gb = gpu.Upload<float>(bBuffer);
        var (a16Bits, a16Buffer) = Bf16Data.Array(aBuffer.Length, 3);
        var (b16Bits, b16Buffer) = Bf16Data.Array(bBuffer.Length, 4);
        float[] a16 = new float[a.Length], b16 = new float[b.Length];
        StridedCopy.CopyReference<float>(a16Buffer, aView, a16);
        StridedCopy.CopyReference<float>(b16Buffer, bView, b16);
        using var ga16 = gpu.Upload<ushort>(a16Bits);
        using var gb16 = gpu.Upload<ushort>(b16Bits);
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Mul })
        {
            var expected = new float[3 * 4 * 5];
            Broadcast.BinaryReference(a, aView.Shape, b, bView.Shape, expected, op);
            using var output = gpu.Poisoned<float>(expected.Length);
            broadcast.Binary(gpu.Stream, ga.View, aView, gb.View, bView, output.View, op);
            AssertClose.All<float>(expected, gpu.Download(output), AssertClose.Elementwise<float>(), $"strided f32 {op}");

            Broadcast.BinaryReference(a16, aView.Shape, b16, bView.Shape, expected, op);
            using var output16 = gpu.Poisoned<ushort>(expected.Length);
            broadcast.Binary(gpu.Stream, ga16.View, aView, gb16.View, bView, output16.View, op);
            AssertClose.All<float>(expected, Bf16Data.Widen(gpu.Download(output16)), Bf16Data.Tolerance, $"strided bf16 {op}");
        }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            broadcast.Binary(gpu.Stream, ga.View, aView, gb.View, StridedLayout.Create([5], [3], 1), ga.View, BinaryOp.Add));
        Assert.Contains("bView reaches", e.Message);
    }
}

namespace TinyLlama.Kernels.Tests;

public class BroadcastTests
{
    public static TheoryData<int[], int[]> Cases => new()
    {
        { [3, 1, 5], [4, 5] },
        { [2, 3, 4], [1] },            // a scalar
        { [1], [2, 3, 4] },
        { [7, 5], [7, 5] },            // same shape
        { [5, 1], [1, 6] },            // both broadcast
        { [2, 1, 3, 1, 2, 3], [3, 2, 1] }, // six dimensions
        { [4, 1, 3], [4, 2, 3] },
        { [5], [1] },                  // rank 1
        { [2, 1, 3, 1, 2], [1, 3, 4, 1] }, // rank 5
    };

    [Theory, MemberData(nameof(Cases))]
    public void CpuBinaryMatchesTheReference(int[] aShape, int[] bShape)
    {
        int[] shape = Broadcast.Shape(aShape, bShape);
        float[] a = RandomData.Array<float>((int)Broadcast.Count(aShape), 1);
        float[] b = RandomData.Array<float>((int)Broadcast.Count(bShape), 2);
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Mul })
        {
            float[] expected = RandomData.Poisoned<float>((int)Broadcast.Count(shape)), actual = RandomData.Poisoned<float>(expected.Length);
            Broadcast.BinaryReference(a, aShape, b, bShape, expected, op);
            Broadcast.Binary(a, aShape, b, bShape, actual, op);
            AssertClose.All<float>(expected, actual, AssertClose.Elementwise<float>(), $"{op}");
        }
    }

    [Fact]
    public void TheReferenceFollowsNumPy()
    {
        // (3,1,2) + (4,2): out[i,j,k] = a[i,0,k] + b[j,k].
        float[] a = [1, 2, 10, 20, 100, 200], b = [0.5f, 0.25f, 1, 2, 3, 4, 5, 6];
        var output = new float[24];
        Broadcast.BinaryReference(a, [3, 1, 2], b, [4, 2], output, BinaryOp.Add);
        Assert.Equal(new[] { 3, 4, 2 }, Broadcast.Shape([3, 1, 2], [4, 2]));
        Assert.Equal(10 + 3f, output[(1 * 4 + 2) * 2 + 0]);
        Assert.Equal(200 + 6f, output[(2 * 4 + 3) * 2 + 1]);
    }

    public static TheoryData<int[], int[]> SumCases => new()
    {
        { [3, 4, 5], [4, 5] },
        { [3, 4, 5], [3, 1, 5] },
        { [4, 5], [4, 1] },
        { [4, 5], [1] },
        { [4, 5], [4, 5] },
        { [2, 3, 4, 5], [3, 1, 5] },
    };

    [Theory, MemberData(nameof(SumCases))]
    public void CpuSumToShapeMatchesTheReference(int[] outShape, int[] targetShape)
    {
        float[] dOut = RandomData.Array<float>((int)Broadcast.Count(outShape), 3);
        float[] expected = RandomData.Poisoned<float>((int)Broadcast.Count(targetShape)), actual = RandomData.Poisoned<float>(expected.Length);
        Broadcast.SumToShapeReference(dOut, outShape, expected, targetShape);
        Broadcast.SumToShape(dOut, outShape, actual, targetShape);
        AssertClose.All<float>(expected, actual, AssertClose.Reduction<float>(), "sum to shape");
    }

    [Fact]
    public void ShapesThatDoNotBroadcastAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => Broadcast.Shape([3, 4], [5, 4]));
        Assert.Contains("do not broadcast", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Broadcast.SumToShapeReference(new float[20], [4, 5], new float[6], [6]));
        Assert.Contains("targetShape", e2.Message);
    }
}

namespace TinyLlama.Kernels.Tests;

public class StridedCopyTests
{
    /// <summary>Views of a 5×7×9 buffer (315 elements): sliced, permuted, reversed, broadcast and six-dimensional.</summary>
    public static TheoryData<string> Views => new() { "contiguous", "slice", "permuted slice", "reversed", "broadcast", "six dims", "transpose" };

    public const int BufferLength = 5 * 7 * 9;

    public static StridedLayout View(string name) => name switch
    {
        "contiguous" => StridedLayout.Contiguous([5, 7, 9]),
        // x[1:4, ::2, 3:8]: offset 1·63 + 3, strides (63, 18, 1)
        "slice" => StridedLayout.Create([3, 4, 5], [63, 18, 1], 66),
        "permuted slice" => StridedLayout.Create([3, 4, 5], [63, 18, 1], 66).Permute([2, 0, 1]),
        "reversed" => StridedLayout.Create([7, 9], [-9, -1], 62),
        "broadcast" => StridedLayout.Create([3, 4, 9], [0, 9, 1], 9),
        "six dims" => StridedLayout.Create([2, 1, 3, 2, 2, 3], [100, 0, 30, 1, 7, 2], 5),
        "transpose" => StridedLayout.Contiguous([5, 63]).Permute([1, 0]),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(Views))]
    public void CpuCopyMatchesTheReference(string name)
    {
        var layout = View(name);
        float[] source = RandomData.Array<float>(BufferLength, 1);
        float[] expected = RandomData.Poisoned<float>((int)layout.Count), actual = RandomData.Poisoned<float>((int)layout.Count);
        StridedCopy.CopyReference<float>(source, layout, expected);
        StridedCopy.Copy<float>(source, layout, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void TheReferenceReadsTheRightElements()
    {
        float[] source = Enumerable.Range(0, BufferLength).Select(i => (float)i).ToArray();
        var output = new float[60];
        StridedCopy.CopyReference<float>(source, View("slice"), output);
        Assert.Equal(66f, output[0]);
        Assert.Equal(66 + 63 * 2 + 18 * 3 + 4f, output[59]);
        var reversed = new float[63];
        StridedCopy.CopyReference<float>(source, View("reversed"), reversed);
        Assert.Equal(62f, reversed[0]);
        Assert.Equal(0f, reversed[62]);
    }

    [Fact]
    public void CpuTransposeMatchesTheReference()
    {
        const int batch = 2, rows = 37, cols = 45;
        float[] x = RandomData.Array<float>(batch * rows * cols, 2);
        float[] expected = new float[x.Length], actual = new float[x.Length];
        StridedCopy.TransposeReference<float>(x, expected, batch, rows, cols);
        StridedCopy.Transpose<float>(x, actual, batch, rows, cols);
        Assert.Equal(expected, actual);
        Assert.Equal(x[(1 * rows + 5) * cols + 7], expected[(1 * cols + 7) * rows + 5]);
    }

    [Fact]
    public void ViewsOutsideTheBufferAreRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            StridedCopy.Copy<float>(new float[10], StridedLayout.Create([3, 4], [4, 1], 0), new float[12]));
        Assert.Contains("layout reaches element offsets [0, 11]", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() =>
            StridedCopy.Copy<float>(new float[12], StridedLayout.Create([3, 4], [4, 1], 0), new float[11]));
        Assert.Contains("destination has 11 elements", e2.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => StridedLayout.Create([1, 2, 3, 4, 5, 6, 7], new int[7]));
    }
}

using System.Numerics;

namespace TinyLlama.Kernels.Tests;

public class EmbeddingTests
{
    // (vocab, channels, positions)
    public static TheoryData<int, int, int> Sizes => new() { { 1, 1, 1 }, { 7, 33, 7 }, { 33, 130, 130 }, { 50, 1000, 513 } };

    [Theory, MemberData(nameof(Sizes))]
    public void ForwardAndBackward_MatchReference(int vocab, int channels, int n)
    {
        Check<float>(vocab, channels, n);
        Check<double>(vocab, channels, n);
    }

    static void Check<T>(int vocab, int channels, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var table = RandomData.Array<T>(vocab * channels, 51);
        var ids = RandomData.Ints(n, 52, vocab); // vocab < n in most cases, so ids repeat and must add up
        var output = RandomData.Poisoned<T>(n * channels);
        var outputRef = new T[n * channels];
        Embedding.Forward<T>(table, ids, output, vocab, channels);
        Embedding.ForwardReference<T>(table, ids, outputRef, vocab, channels);
        Assert.Equal(outputRef, output);

        var dOut = RandomData.Array<T>(n * channels, 53);
        var dTable = RandomData.Array<T>(vocab * channels, 54); // non-zero: backward accumulates
        var dTableRef = (T[])dTable.Clone();
        Embedding.Backward<T>(dOut, ids, dTable, vocab, channels);
        Embedding.BackwardReference<T>(dOut, ids, dTableRef, vocab, channels);
        AssertClose.All<T>(dTableRef, dTable, AssertClose.Reduction<T>(), "Embedding dTable");
    }

    [Fact]
    public void RepeatedIds_AddUp()
    {
        var dTable = new double[3 * 2];
        Embedding.Backward<double>([1, 2, 3, 4, 5, 6], [2, 0, 2], dTable, 3, 2);
        Assert.Equal([3, 4, 0, 0, 6, 8], dTable);
    }

    [Fact]
    public void OutOfRangeId_NamesThePositionAndTheId()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward<float>(new float[8], [0, 3, 4], new float[6], 4, 2));
        Assert.Contains("id 4 at position 2", ex.Message);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Backward<float>(new float[4], [-1, 0], new float[8], 4, 2));
        Assert.Contains("id -1 at position 0", ex.Message);
    }

    [Fact]
    public void BadLengths_NameTheOpAndTheBuffer()
    {
        var ex = Assert.Throws<ArgumentException>(() => Embedding.Forward<float>(new float[8], [0, 1], new float[5], 4, 2));
        Assert.Contains("Embedding.Forward: output has 5 elements, expected ids.Length·channels = 4", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Embedding.Backward<float>(new float[4], [0, 1], new float[7], 4, 2));
        Assert.Contains("Embedding.Backward: dTable has 7 elements, expected vocab·channels = 8", ex.Message);
    }
}

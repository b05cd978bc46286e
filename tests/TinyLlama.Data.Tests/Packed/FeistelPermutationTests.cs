using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

public class FeistelPermutationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(4097)]
    public void IsABijection(long n)
    {
        var p = new FeistelPermutation(n, key: 42);
        var seen = new bool[n];
        for (long i = 0; i < n; i++)
        {
            long v = p[i];
            Assert.InRange(v, 0, n - 1);
            Assert.False(seen[v]);
            seen[v] = true;
        }
    }

    [Fact]
    public void ShufflesAndDependsOnTheKey()
    {
        const int n = 1000;
        var a = new FeistelPermutation(n, 1);
        var b = new FeistelPermutation(n, 2);
        int fixedPoints = 0, same = 0;
        for (int i = 0; i < n; i++)
        {
            if (a[i] == i) fixedPoints++;
            if (a[i] == b[i]) same++;
        }
        Assert.True(fixedPoints < 20, $"{fixedPoints} fixed points");
        Assert.True(same < 20, $"{same} equal positions for different keys");
        Assert.Equal(a[123], new FeistelPermutation(n, 1)[123]);
    }

    [Fact]
    public void HandlesHugeCountsInConstantMemory()
    {
        var p = new FeistelPermutation(460_000_000_000, key: 7);
        Assert.InRange(p[459_999_999_999], 0, 459_999_999_999);
    }

    [Fact]
    public void SplitMix64MatchesTheReferenceSequence()
    {
        // First outputs of SplitMix64 seeded with 1234567 (Vigna's splitmix64.c).
        var r = new SplitMix64(1234567);
        Assert.Equal(6457827717110365317UL, r.Next());
        Assert.Equal(3203168211198807973UL, r.Next());
        Assert.Equal(9817491932198370423UL, r.Next());
    }
}

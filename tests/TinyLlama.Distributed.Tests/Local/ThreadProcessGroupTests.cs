using TinyLlama.Distributed.Local;
using TinyLlama.Kernels;

namespace TinyLlama.Distributed.Tests.Local;

public class ThreadProcessGroupTests
{
    // Values whose f32 sum depends on the order of the additions, so a rank that added in another order would differ.
    private static float[] ValuesOf(int rank, int n) =>
        Enumerable.Range(0, n).Select(i => (float)(Math.Sin(rank * 31 + i) * Math.Pow(10, (i + rank) % 7 - 3))).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void AllReduce_SumsInRankOrder_AndEveryRankGetsTheSameBits(int worldSize)
    {
        const int n = 1000;
        var sums = ThreadProcessGroup.Run(worldSize, g =>
        {
            var data = ValuesOf(g.Rank, n);
            g.AllReduce(data);
            return data;
        });
        var averages = ThreadProcessGroup.Run(worldSize, g =>
        {
            var data = ValuesOf(g.Rank, n);
            g.AllReduce(data, ReduceOp.Average);
            return data;
        });
        for (int i = 0; i < n; i++)
        {
            float expected = ValuesOf(0, n)[i];
            for (int r = 1; r < worldSize; r++) expected += ValuesOf(r, n)[i];
            Assert.All(sums, s => Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(s[i])));
            Assert.All(averages, a => Assert.Equal(BitConverter.SingleToInt32Bits(expected / worldSize), BitConverter.SingleToInt32Bits(a[i])));
        }
    }

    [Fact]
    public void AllReduceBf16_ReducesInF32_AndRoundsToNearestEven()
    {
        const int n = 257, worldSize = 3;
        ushort[] Bf16Of(int rank) => ValuesOf(rank, n).Select(BFloat16.FromFloat).ToArray();
        var results = ThreadProcessGroup.Run(worldSize, g =>
        {
            var sum = Bf16Of(g.Rank);
            g.AllReduceBf16(sum);
            var average = Bf16Of(g.Rank);
            g.AllReduceBf16(average, ReduceOp.Average);
            return (sum, average);
        });
        for (int i = 0; i < n; i++)
        {
            float f32 = 0;
            for (int r = 0; r < worldSize; r++) f32 += BFloat16.ToFloat(Bf16Of(r)[i]);
            Assert.All(results, x => Assert.Equal(BFloat16.FromFloatReference(f32), x.sum[i]));
            Assert.All(results, x => Assert.Equal(BFloat16.FromFloatReference(f32 / worldSize), x.average[i]));
        }
    }

    [Fact]
    public void Broadcast_AllGather_AndBarrier()
    {
        var results = ThreadProcessGroup.Run(3, g =>
        {
            var bytes = Enumerable.Range(0, 5).Select(i => (byte)(g.Rank * 10 + i)).ToArray();
            g.Broadcast(bytes, root: 1);
            var gathered = new byte[3 * 2];
            g.AllGather(new[] { (byte)g.Rank, (byte)(g.Rank + 100) }, gathered);
            g.Barrier();
            return (bytes, gathered);
        });
        Assert.All(results, r => Assert.Equal(new byte[] { 10, 11, 12, 13, 14 }, r.bytes));
        Assert.All(results, r => Assert.Equal(new byte[] { 0, 100, 1, 101, 2, 102 }, r.gathered));
    }

    [Fact]
    public void Barrier_HoldsEveryRank_UntilTheLastArrives()
    {
        int arrived = 0;
        var seen = ThreadProcessGroup.Run(3, g =>
        {
            if (g.Rank == 2) Thread.Sleep(200);
            Interlocked.Increment(ref arrived);
            g.Barrier();
            return Volatile.Read(ref arrived);
        });
        Assert.All(seen, count => Assert.Equal(3, count));
    }

    [Fact]
    public void DifferentCollectives_OnTwoRanks_FailOnBothNamingThem()
    {
        var e = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(2, g =>
        {
            if (g.Rank == 0) g.AllReduce(new float[4]);
            else g.Broadcast(new byte[16]);
            return 0;
        }));
        Assert.Equal(2, e.InnerExceptions.Count);
        Assert.All(e.InnerExceptions, x => Assert.Contains("rank 1 a broadcast of 16 bytes", x.Message));
    }

    [Fact]
    public void ARankThatFails_MakesTheOthersThrowNamingIt_InsteadOfWaiting()
    {
        var e = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(3, g =>
        {
            if (g.Rank == 2) throw new InvalidOperationException("rank 2 gives up");
            g.AllReduce(new float[8]);
            return 0;
        }));
        Assert.Equal(3, e.InnerExceptions.Count);
        Assert.Contains("rank 2 gives up", e.Message);
        Assert.Contains("rank 2", e.InnerExceptions[0].Message);
        Assert.IsType<IOException>(e.InnerExceptions[0]);
    }

    [Fact]
    public void ACollectiveThatARankNeverJoins_TimesOut_NamingTheMissingRank()
    {
        var groups = ThreadProcessGroup.Create(2, TimeSpan.FromMilliseconds(300));
        var e = Assert.Throws<IOException>(() => groups[0].Barrier());
        Assert.Contains("rank(s) 1 did not arrive", e.Message);
        foreach (var g in groups) g.Dispose();
    }
}

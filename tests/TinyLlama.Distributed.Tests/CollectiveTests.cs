using System.Runtime.InteropServices;
using TinyLlama.Kernels;

namespace TinyLlama.Distributed.Tests;

public sealed class CollectiveTests
{
    // Small segments, so that short buffers still cross several segments; the threaded engine path needs segments above 64 KiB.
    const int SmallSegment = 256;

    /// <summary>Integers small enough that every sum is exact in f32, whatever the order.</summary>
    static float[] Data(int rank, int length, int seed) =>
        Enumerable.Range(0, length).Select(i => (float)(((i * 7919 + rank * 104729 + seed) % 201) - 100)).ToArray();

    public static TheoryData<int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int world in new[] { 1, 2, 3, 4 })
        {
            foreach (int length in new[] { 0, 1, 7, 1001 }) data.Add(world, length, SmallSegment);
            data.Add(world, 300_007, 128 << 10); // several 128 KiB segments per chunk: the two-thread path
            data.Add(world, 20_000, TcpProcessGroup.DefaultSegmentBytes); // 80 KB: above the small path, one segment per chunk
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AllReduceF32_SumAndAverage_AreExactOnEveryRank(int world, int length, int segment)
    {
        var sums = new float[length];
        for (int r = 0; r < world; r++) { var d = Data(r, length, 1); for (int i = 0; i < length; i++) sums[i] += d[i]; }
        var results = RankThreads.Run(world, g =>
        {
            var sum = Data(g.Rank, length, 1);
            g.AllReduce(sum, ReduceOp.Sum);
            var average = Data(g.Rank, length, 1);
            g.AllReduce(average, ReduceOp.Average);
            return (sum, average);
        }, segment);
        foreach (var (sum, average) in results)
        {
            Assert.Equal(sums, sum);
            Assert.Equal(sums.Select(s => s / world).ToArray(), average);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AllReduceBf16_SumAndAverage_MatchF32RoundedOnce(int world, int length, int segment)
    {
        // Values in −16..16: every partial sum of four is exact in bf16, so the result is the exact sum, rounded once when averaged.
        ushort[] Bf16(int rank) => Data(rank, length, 3).Select(v => BFloat16.FromFloat(MathF.Round(v / 8) + 0f) /* no −0: a sum starting at +0 would not keep it */).ToArray();
        var sums = new float[length];
        for (int r = 0; r < world; r++) { var d = Bf16(r); for (int i = 0; i < length; i++) sums[i] += BFloat16.ToFloat(d[i]); }
        var results = RankThreads.Run(world, g =>
        {
            var sum = Bf16(g.Rank);
            g.AllReduceBf16(sum, ReduceOp.Sum);
            var average = Bf16(g.Rank);
            g.AllReduceBf16(average, ReduceOp.Average);
            return (sum, average);
        }, segment);
        foreach (var (sum, average) in results)
        {
            Assert.Equal(sums.Select(BFloat16.FromFloat).ToArray(), sum);
            Assert.Equal(sums.Select(s => BFloat16.FromFloat(s / world)).ToArray(), average);
        }
    }

    [Theory]
    [InlineData(3, 5_000, 256)]      // small path
    [InlineData(4, 250_003, 65_536)] // ring, inline engine
    [InlineData(3, 250_003, 131_072)] // ring, two threads
    public void AllReduce_RandomValues_IdenticalBitsOnEveryRankAndCloseToTheExactSum(int world, int length, int segment)
    {
        float[] Random(int rank) { var rng = new Random(rank + 17); return Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(); }
        ushort[] RandomBf16(int rank) => Random(rank).Select(BFloat16.FromFloat).ToArray();
        var exact = new double[length];
        var exactBf16 = new double[length];
        for (int r = 0; r < world; r++)
        {
            var f = Random(r); var b = RandomBf16(r);
            for (int i = 0; i < length; i++) { exact[i] += f[i]; exactBf16[i] += BFloat16.ToFloat(b[i]); }
        }
        var results = RankThreads.Run(world, g =>
        {
            var f = Random(g.Rank); g.AllReduce(f);
            var b = RandomBf16(g.Rank); g.AllReduceBf16(b, ReduceOp.Average);
            return (f, b);
        }, segment);
        for (int r = 1; r < world; r++)
        {
            Assert.True(results[0].f.AsSpan().SequenceEqual(results[r].f), $"f32 rank {r} differs from rank 0");
            Assert.True(results[0].b.AsSpan().SequenceEqual(results[r].b), $"bf16 rank {r} differs from rank 0");
        }
        for (int i = 0; i < length; i++)
        {
            Assert.True(Math.Abs(results[0].f[i] - exact[i]) <= 1e-5, $"f32 element {i}: {results[0].f[i]} vs {exact[i]}");
            double mean = exactBf16[i] / world, got = BFloat16.ToFloat(results[0].b[i]);
            Assert.True(Math.Abs(got - mean) <= 0.02 * Math.Abs(mean) + 1e-2, $"bf16 element {i}: {got} vs {mean}");
        }
    }

    [Theory]
    [InlineData(1, 0, 10)]
    [InlineData(2, 1, 1)]
    [InlineData(3, 2, 1000)]
    [InlineData(4, 1, 200_001)]
    [InlineData(4, 3, 0)]
    public void Broadcast_EveryRankGetsTheRootsBytes(int world, int root, int length)
    {
        byte[] Fill(int rank) => Enumerable.Range(0, length).Select(i => (byte)(i * 31 + rank * 7)).ToArray();
        var results = RankThreads.Run(world, g => { var d = Fill(g.Rank); g.Broadcast(d, root); return d; }, SmallSegment * 300);
        foreach (var d in results) Assert.Equal(Fill(root), d);
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 1)]
    [InlineData(3, 777)]
    [InlineData(4, 100_000)]
    public void AllGather_PutsEachRanksBytesAtItsOffset(int world, int length)
    {
        byte[] Mine(int rank) => Enumerable.Range(0, length).Select(i => (byte)(i + rank * 51)).ToArray();
        var expected = Enumerable.Range(0, world).SelectMany(Mine).ToArray();
        var results = RankThreads.Run(world, g => { var o = new byte[world * length]; g.AllGather(Mine(g.Rank), o); return o; }, 4096);
        foreach (var o in results) Assert.Equal(expected, o);
    }

    [Fact]
    public void AllGather_WrongOutputLength_NamesTheExpectedSize()
    {
        var e = RankThreads.Run(2, g => Record.Exception(() => g.AllGather(new byte[3], new byte[5])));
        Assert.All(e, x => Assert.Contains("world size 2 × 3", x!.Message));
    }

    [Fact]
    public void Barrier_NoRankLeavesBeforeTheLastOneEnters()
    {
        var results = RankThreads.Run(3, g =>
        {
            if (g.Rank == 1) Thread.Sleep(300);
            long entered = Environment.TickCount64;
            g.Barrier();
            return (entered, left: Environment.TickCount64);
        });
        long lastEntered = results.Max(r => r.entered);
        Assert.All(results, r => Assert.True(r.left >= lastEntered, $"left at {r.left}, before the last entry at {lastEntered}"));
    }

    [Fact]
    public void ManyCollectivesInARow_StayInStep()
    {
        var results = RankThreads.Run(3, g =>
        {
            float total = 0;
            for (int i = 0; i < 200; i++)
            {
                var x = new[] { (float)(g.Rank + i) };
                g.AllReduce(x);
                total += x[0];
                if (i % 50 == 0) g.Barrier();
            }
            return total;
        });
        float expected = Enumerable.Range(0, 200).Sum(i => (float)(3 * i + 3));
        Assert.All(results, t => Assert.Equal(expected, t));
    }
}

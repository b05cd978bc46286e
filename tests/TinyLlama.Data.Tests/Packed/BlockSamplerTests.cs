using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

public class BlockSamplerTests
{
    private static List<BlockRef> Draw(BlockSampler s, int steps)
    {
        var all = new List<BlockRef>();
        var batch = new BlockRef[s.MicroBatchSize];
        for (int i = 0; i < steps; i++)
        {
            s.NextBatch(batch);
            all.AddRange(batch);
        }
        return all;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    public void RanksAreDisjointAndCoverAnEpoch(int world, int micro)
    {
        const long n = 97; // not a multiple of any global batch: the last step crosses into epoch 1
        int steps = (int)((n + world * micro - 1) / (world * micro));
        var perRank = Enumerable.Range(0, world)
            .Select(r => Draw(new BlockSampler([n], null, seed: 3407, r, world, micro), steps)
                .Where(b => b.Epoch == 0).Select(b => b.Block).ToList())
            .ToList();
        var union = perRank.SelectMany(x => x).ToList();
        Assert.Equal(n, union.Count);              // no block twice, across and within ranks
        Assert.Equal(n, union.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, (int)n).Select(i => (long)i), union.Order());
        for (int a = 0; a < world; a++)
            for (int b = a + 1; b < world; b++)
                Assert.Empty(perRank[a].Intersect(perRank[b]));
    }

    [Fact]
    public void EveryRankComputesTheSameGlobalOrder()
    {
        // Interleaving the ranks' batches gives the single-rank order with a W-times larger micro-batch.
        const int world = 4, micro = 2;
        var single = Draw(new BlockSampler([50, 30], [0.6, 0.4], 11, 0, 1, world * micro), 10);
        var ranks = Enumerable.Range(0, world).Select(r => Draw(new BlockSampler([50, 30], [0.6, 0.4], 11, r, world, micro), 10)).ToList();
        for (int step = 0; step < 10; step++)
            for (int j = 0; j < world * micro; j++)
                Assert.Equal(single[step * world * micro + j], ranks[j % world][step * micro + j / world]);
        // and the counters, hence the saved state, agree on every rank
        var states = Enumerable.Range(0, world).Select(r =>
        {
            var s = new BlockSampler([50, 30], [0.6, 0.4], 11, r, world, micro);
            Draw(s, 7);
            return s.GetState().ToJson();
        }).Distinct();
        Assert.Single(states);
    }

    [Fact]
    public void PerRankSeedsDuplicateAndSkipData_TinyLlamaIssue67()
    {
        // The failure mode we avoid: each rank shuffling with seed + rank, then taking its stride.
        const long n = 64;
        const int world = 4;
        var union = Enumerable.Range(0, world)
            .SelectMany(r => Draw(new BlockSampler([n], null, seed: 3407UL + (ulong)r, r, world, 1), (int)n / world))
            .Select(b => b.Block).ToList();
        Assert.True(union.Distinct().Count() < n, "per-rank shuffles should lose some blocks");
        // With one seed on every rank, the same draw covers everything exactly once.
        var fixedUnion = Enumerable.Range(0, world)
            .SelectMany(r => Draw(new BlockSampler([n], null, seed: 3407, r, world, 1), (int)n / world))
            .Select(b => b.Block).ToList();
        Assert.Equal(n, fixedUnion.Distinct().Count());
    }

    [Fact]
    public void SameSeedSameOrderOtherSeedOtherOrder()
    {
        var a = Draw(new BlockSampler([1000], null, 5, 0, 2, 4), 20);
        var b = Draw(new BlockSampler([1000], null, 5, 0, 2, 4), 20);
        var c = Draw(new BlockSampler([1000], null, 6, 0, 2, 4), 20);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void EachEpochIsAFreshShuffle()
    {
        const long n = 40;
        var s = new BlockSampler([n], null, 9, 0, 1, 8);
        var draws = Draw(s, 10); // 80 draws: two full epochs
        var e0 = draws.Take(40).Select(b => b.Block).ToList();
        var e1 = draws.Skip(40).Select(b => b.Block).ToList();
        Assert.Equal(n, e0.Distinct().Count());
        Assert.Equal(n, e1.Distinct().Count());
        Assert.NotEqual(e0, e1);
        Assert.All(draws.Skip(40), b => Assert.Equal(1, b.Epoch));
        Assert.Equal([2L], s.GetState().Epochs);
    }

    [Fact]
    public void MixingFollowsTheWeights()
    {
        // TinyLlama's SlimPajama:Starcoder mix, plus a source with weight zero.
        double[] w = [0.693584, 0.306416, 0];
        var s = new BlockSampler([1000, 1000, 1000], w, 3407, 0, 1, 100);
        var counts = new int[3];
        foreach (var b in Draw(s, 400)) counts[b.Source]++;
        Assert.InRange(counts[0] / 40000.0, 0.693584 - 0.01, 0.693584 + 0.01);
        Assert.InRange(counts[1] / 40000.0, 0.306416 - 0.01, 0.306416 + 0.01);
        Assert.Equal(0, counts[2]);
        // the counters track the draws exactly
        Assert.Equal([counts[0], counts[1], 0L], s.GetState().SourceDraws);
    }

    [Fact]
    public void ResumingContinuesExactlyInConstantTime()
    {
        const int world = 3, micro = 2;
        foreach (int rank in new[] { 0, 2 })
        {
            var full = new BlockSampler([17, 40], [1, 2], 77, rank, world, micro);
            var batches = Draw(full, 50);
            var first = new BlockSampler([17, 40], [1, 2], 77, rank, world, micro);
            Draw(first, 20);
            string json = first.GetState().ToJson();
            var resumed = new BlockSampler([17, 40], [1, 2], seed: 0, rank, world, micro); // the seed comes from the state
            resumed.SetState(SamplerState.FromJson(json));
            Assert.Equal(20, resumed.Step);
            Assert.Equal(batches.Skip(20 * micro), Draw(resumed, 30));
        }
    }

    [Fact]
    public void ResumingOnAnotherWorldSizeContinuesTheGlobalOrder()
    {
        // The order is global, so a run saved on 2 ranks × 2 can go on with 4 ranks × 1 (same global batch).
        var reference = Draw(new BlockSampler([23, 9], [2, 1], 5, 0, 1, 4), 30);
        var before = new BlockSampler([23, 9], [2, 1], 5, 1, 2, 2);
        Draw(before, 10);
        var state = before.GetState();
        for (int r = 0; r < 4; r++)
        {
            var after = new BlockSampler([23, 9], [2, 1], 5, r, 4, 1);
            after.SetState(state);
            var mine = Draw(after, 20);
            for (int step = 0; step < 20; step++)
                Assert.Equal(reference[(10 + step) * 4 + r], mine[step]);
        }
    }

    [Fact]
    public void ResetStartsOver()
    {
        var s = new BlockSampler([30], null, 8, 0, 1, 3);
        var first = Draw(s, 4);
        s.Reset();
        Assert.Equal(first, Draw(s, 4));
    }

    [Fact]
    public void StateIsSmallJson()
    {
        var s = new BlockSampler([10, 20], [3, 1], 123, 0, 2, 2);
        Draw(s, 3);
        var json = s.GetState().ToJson();
        Assert.Contains("\"Seed\": 123", json);
        Assert.Contains("\"Step\": 3", json);
        Assert.Contains("\"GlobalSample\": 12", json);
        Assert.True(json.Length < 400, json);
        var back = SamplerState.FromJson(json);
        Assert.Equal(s.GetState().SourceDraws, back.SourceDraws);
    }

    [Fact]
    public void BadStateIsRefused()
    {
        var s = new BlockSampler([10, 20], null, 1);
        var state = s.GetState();
        Assert.Contains("[10, 21] blocks", Assert.Throws<InvalidDataException>(() =>
            s.SetState(state with { SourceBlocks = [10, 21] })).Message);
        Assert.Throws<InvalidDataException>(() => s.SetState(state with { Weights = [1, 2] }));
        Assert.Throws<InvalidDataException>(() => s.SetState(state with { GlobalSample = 5 }));
        Assert.Throws<InvalidDataException>(() => SamplerState.FromJson("{ not json"));
        Assert.Throws<InvalidDataException>(() => SamplerState.FromJson("null"));
        Assert.Throws<InvalidDataException>(() => SamplerState.FromJson("{\"Format\": 2}"));
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Contains("sum to zero", Assert.Throws<ArgumentException>(() => new BlockSampler([1, 1], [0, 0], 1)).Message);
        Assert.Contains("must be finite and ≥ 0", Assert.Throws<ArgumentException>(() => new BlockSampler([1, 1], [1, -1], 1)).Message);
        Assert.Throws<ArgumentException>(() => new BlockSampler([1, 1], [double.NaN, 1], 1));
        Assert.Throws<ArgumentException>(() => new BlockSampler([1, 1], [1], 1));
        Assert.Throws<ArgumentException>(() => new BlockSampler([1, 0], null, 1));
        Assert.Throws<ArgumentException>(() => new BlockSampler([], null, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlockSampler([1], null, 1, rank: 2, worldSize: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlockSampler([1], null, 1, microBatchSize: 0));
    }
}

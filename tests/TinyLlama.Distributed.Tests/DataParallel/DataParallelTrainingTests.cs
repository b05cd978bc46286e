using Xunit.Abstractions;
using TinyLlama.Distributed.DataParallel;
using TinyLlama.Distributed.Local;

namespace TinyLlama.Distributed.Tests.DataParallel;

/// <summary>
/// The correctness criterion: N ranks with the same global batch train the same model as one process.
/// The sampler cuts one global order into batches of BatchSize sequences whatever the split, so one process with
/// micro-batch 8 and N ranks with micro-batch m and 8 / (N·m) micro-steps see the same 8 sequences at every step.
/// </summary>
public sealed class DataParallelTrainingTests(ITestOutputHelper output) : IDisposable
{
    private readonly TrainingFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private RankRun[] TrainRanks(int worldSize, int microBatch, string runDir, long bucketBytes = 64 * 1024, bool resume = false, int? stopRank = null, int? stopAfter = null) =>
        ThreadProcessGroup.Run(worldSize, g => _fixture.Train(new DistributedDataParallel(g, bucketBytes),
            TrainingFixture.Options(microBatch), _fixture.RunDir(runDir), resume, g.Rank == stopRank ? stopAfter : null));

    [Theory]
    [InlineData(2, 2)] // 2 ranks × 2 sequences × 2 micro-steps (the last one all-reduces)
    [InlineData(4, 2)] // 4 ranks × 2 sequences, no accumulation
    [InlineData(4, 1)] // 4 ranks × 1 sequence × 2 micro-steps
    public void NRanks_MatchOneProcess_WithTheSameGlobalBatch(int worldSize, int microBatch)
    {
        var single = _fixture.Train(null, TrainingFixture.Options(microBatch: 8), _fixture.RunDir("single"));
        var ranks = TrainRanks(worldSize, microBatch, $"ddp{worldSize}x{microBatch}");

        Assert.True(ranks[0].Bucketer!.Plan.Buckets.Count > 1, "the test should exercise several buckets");
        output.WriteLine($"{worldSize} ranks × micro-batch {microBatch}: {ranks[0].Bucketer!.Plan}; largest loss difference to one process " +
                         $"{single.Losses.Zip(ranks[0].Losses, (a, b) => Math.Abs(a - b)).Max():G3}, parameters {MaxDifference(single.Parameters, ranks[0].Parameters):G3}");
        foreach (var rank in ranks)
        {
            Assert.Equal(single.Losses.Count, rank.Losses.Count);
            for (int s = 0; s < single.Losses.Count; s++)
                Assert.True(Math.Abs(single.Losses[s] - rank.Losses[s]) <= 1e-5, $"rank {rank.Rank} step {s + 1}: loss {rank.Losses[s]} vs {single.Losses[s]} alone");
            Assert.Equal(single.Validation.Select(v => v.Step), rank.Validation.Select(v => v.Step));
            for (int v = 0; v < single.Validation.Count; v++)
                Assert.True(Math.Abs(single.Validation[v].Loss - rank.Validation[v].Loss) <= 1e-5, $"rank {rank.Rank}: validation {rank.Validation[v]} vs {single.Validation[v]}");
            AssertParametersClose(single.Parameters, rank.Parameters, 1e-4);
        }
        // Every rank ends with bit-identical parameters and logs the same (averaged) losses.
        foreach (var rank in ranks.Skip(1))
        {
            Assert.Equal(ranks[0].Losses, rank.Losses);
            Assert.Equal(ranks[0].GradNorms, rank.GradNorms);
            for (int p = 0; p < rank.Parameters.Length; p++) Assert.Equal(ranks[0].Parameters[p], rank.Parameters[p]);
        }
        // Only rank 0 writes checkpoints: steps 3, 6 and the end.
        Assert.Equal(["step-00000003", "step-00000006", "step-00000008"], ranks[0].Checkpoints);
        Assert.All(ranks.Skip(1), r => Assert.Empty(r.Checkpoints));
    }

    [Fact]
    public void OneRank_OverAProcessGroup_IsBitIdenticalToTrainingAlone()
    {
        var single = _fixture.Train(null, TrainingFixture.Options(microBatch: 4), _fixture.RunDir("alone"));
        var one = TrainRanks(1, 4, "one")[0];
        Assert.Equal(single.Losses, one.Losses);
        Assert.Equal(single.Validation, one.Validation);
        for (int p = 0; p < single.Parameters.Length; p++) Assert.Equal(single.Parameters[p], one.Parameters[p]);
    }

    [Fact]
    public void BucketSize_DoesNotChangeTheResult()
    {
        var small = TrainRanks(2, 4, "small-buckets", bucketBytes: 16 * 1024);
        var whole = TrainRanks(2, 4, "one-bucket", bucketBytes: BucketPlan.DefaultBucketBytes);
        Assert.Single(whole[0].Bucketer!.Plan.Buckets);
        Assert.True(small[0].Bucketer!.Plan.Buckets.Count > 4);
        Assert.Equal(whole[0].Losses, small[0].Losses);
        for (int p = 0; p < whole[0].Parameters.Length; p++) Assert.Equal(whole[0].Parameters[p], small[0].Parameters[p]);
    }

    [Fact]
    public void AStopOnOneRank_StopsAll_AtTheSameStep_AndAResumeContinuesWithTheSameDataAndLosses()
    {
        var full = TrainRanks(2, 2, "full");

        // Rank 1 alone is asked to stop after step 5 (a SIGTERM to one process): both stop there, rank 0 writes it.
        var first = TrainRanks(2, 2, "split", stopRank: 1, stopAfter: 5);
        Assert.All(first, r => Assert.Equal(5, r.FinalStep));
        Assert.Equal(["step-00000003", "step-00000005"], first[0].Checkpoints);

        // A relaunch with --resume: every rank loads step 5 and continues with the uninterrupted run's batches.
        var resumed = TrainRanks(2, 2, "split", resume: true);
        foreach (var rank in resumed)
        {
            Assert.Equal(full[0].Losses.Skip(5), rank.Losses);
            for (int p = 0; p < rank.Parameters.Length; p++) Assert.Equal(full[0].Parameters[p], rank.Parameters[p]);
        }
    }

    [Fact]
    public void AResume_WithAnotherNumberOfRanks_ContinuesTheSameGlobalBatches()
    {
        // The sampler state counts global samples, so 2 ranks can pick up what 4 ranks wrote (same global batch).
        var full = TrainRanks(4, 2, "full4");
        TrainRanks(4, 2, "switch", stopRank: 0, stopAfter: 4);
        var resumed = TrainRanks(2, 4, "switch", resume: true);
        for (int s = 0; s < 4; s++)
            Assert.True(Math.Abs(full[0].Losses[4 + s] - resumed[0].Losses[s]) <= 1e-5, $"step {5 + s}: {resumed[0].Losses[s]} vs {full[0].Losses[4 + s]}");
        AssertParametersClose(full[0].Parameters, resumed[1].Parameters, 1e-4);
    }

    [Fact]
    public void RanksThatResumeFromDifferentSteps_AreRefused()
    {
        TrainRanks(1, 8, "diverged", stopRank: 0, stopAfter: 3);
        var e = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(2, g =>
            // Rank 1 "forgets" --resume: it would start at step 0 while rank 0 continues from step 3.
            _fixture.Train(new DistributedDataParallel(g), TrainingFixture.Options(4), _fixture.RunDir("diverged"), resume: g.Rank == 0)));
        Assert.All(e.InnerExceptions, x => Assert.Contains("rank 0 has 3, rank 1 has 0", x.Message));
    }

    private static void AssertParametersClose(float[][] expected, float[][] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = MaxDifference(expected, actual);
        Assert.True(worst <= tolerance, $"parameters differ by up to {worst:G3} (tolerance {tolerance})");
    }

    private static double MaxDifference(float[][] expected, float[][] actual)
    {
        double worst = 0;
        for (int p = 0; p < expected.Length; p++)
            for (int i = 0; i < expected[p].Length; i++)
                worst = Math.Max(worst, Math.Abs(expected[p][i] - actual[p][i]));
        return worst;
    }
}

using TinyLlama.Distributed.DataParallel;
using TinyLlama.Distributed.Local;
using TinyLlama.Tensors;

namespace TinyLlama.Distributed.Tests.DataParallel;

public class GradientBucketerTests
{
    // Four "layers" of distinct sizes (so a bucket reduced out of order would be a mismatched collective).
    private static readonly int[] Sizes = [4, 3, 2, 5];

    private static (string, Tensor)[] Parameters(int seed) =>
        Sizes.Select((n, i) => ($"p{i}", Tensor.FromArray(Enumerable.Range(0, n).Select(k => (float)Math.Cos(seed + 7 * i + k)).ToArray()).RequireGrad())).ToArray();

    private static float[] Input(int rank, int n) => Enumerable.Range(0, n).Select(k => (float)(rank + 1) * (k - 1.5f)).ToArray();

    [Fact]
    public void Gradients_AreAveraged_AParameterUsedOnOneRankCountsZerosElsewhere_AndOneUsedNowhereKeepsNoGradient()
    {
        // loss_r = Σ (r+1)·p0² + Σ p1·x_r + [r = 1] Σ p2²; p3 is used on no rank. One bucket per parameter.
        var grads = ThreadProcessGroup.Run(2, g =>
        {
            var ps = Parameters(seed: 1); // the same values on both ranks, as after the start-up broadcast
            using var sync = new GradientBucketer(g, ps, bucketBytes: 4);
            Assert.Equal(4, sync.Plan.Buckets.Count);
            using var scope = new TensorScope();
            var (p0, p1, p2) = (ps[0].Item2, ps[1].Item2, ps[2].Item2);
            var loss = (p0 * p0 * (g.Rank + 1.0)).Sum() + (p1 * Tensor.FromArray(Input(g.Rank, 3))).Sum();
            if (g.Rank == 1) loss = loss + (p2 * p2).Sum();
            sync.BeginBackward(synchronize: true);
            loss.Backward();
            sync.FinishBackward();
            return ps.Select(p => p.Item2.Grad?.ToArray<float>()).ToArray();
        });
        var start = Parameters(seed: 1).Select(p => p.Item2.ToArray<float>()).ToArray();
        foreach (var rank in grads)
        {
            // d/dp0: (2·1·p0 + 2·2·p0) / 2 = 3·p0
            AssertClose(start[0].Select(v => 3 * v).ToArray(), rank[0]!);
            AssertClose(Input(0, 3).Zip(Input(1, 3), (a, b) => (a + b) / 2).ToArray(), rank[1]!);
            // Only rank 1 had 2·p2; rank 0 contributed zeros.
            AssertClose(start[2].Select(v => v).ToArray(), rank[2]!);
            Assert.Null(rank[3]);
        }
        Assert.Equal(grads[0][0], grads[1][0]);
        Assert.Equal(grads[0][2], grads[1][2]);
    }

    [Fact]
    public void Accumulation_ReducesOnlyOnTheLastMicroStep_TheSumOfAllMicroSteps()
    {
        var results = ThreadProcessGroup.Run(2, raw =>
        {
            var g = new CountingGroup(raw);
            var ps = Parameters(seed: 2);
            using var sync = new GradientBucketer(g, ps, bucketBytes: 12);
            var reducesAfterMicro = new List<int>();
            for (int micro = 0; micro < 3; micro++)
            {
                using var scope = new TensorScope();
                var (p0, p1, p2) = (ps[0].Item2, ps[1].Item2, ps[2].Item2);
                var loss = (p0 * (micro + 1.0 + g.Rank)).Sum() + (p1 * p1).Sum();
                // p2 gets a gradient only in the first micro-step on rank 0: it must still be reduced at the end.
                if (micro == 0 && g.Rank == 0) loss = loss + (p2 * 4.0).Sum();
                sync.BeginBackward(synchronize: micro == 2);
                loss.Backward();
                sync.FinishBackward();
                reducesAfterMicro.Add(g.Completed);
            }
            return (reducesAfterMicro, buckets: sync.Plan.Buckets.Count, grads: ps.Select(p => p.Item2.Grad?.ToArray<float>()).ToArray());
        });
        var start = Parameters(seed: 2).Select(p => p.Item2.ToArray<float>()).ToArray();
        foreach (var (reduces, buckets, grads) in results)
        {
            Assert.True(buckets > 1);
            Assert.Equal([0, 0, buckets], reduces);
            // p0: Σ_micro (micro + 1 + r), averaged over r = 0, 1: (6 + 9) / 2.
            AssertClose(Enumerable.Repeat(7.5f, 4).ToArray(), grads[0]!);
            AssertClose(start[1].Select(v => 3 * 2 * v).ToArray(), grads[1]!);
            AssertClose([2f, 2f], grads[2]!);
            Assert.Null(grads[3]);
        }
    }

    [Fact]
    public void Buckets_AreReducedWhileBackwardStillRuns()
    {
        // A chain x → p3 → p2 → p1 → p0 → loss: backward finishes p0 first and p3 last. A hook on p3 (the last
        // gradient) waits for the communication thread to have finished a bucket: only overlap lets it.
        var results = ThreadProcessGroup.Run(2, raw =>
        {
            var g = new CountingGroup(raw);
            var ps = Enumerable.Range(0, 4).Select(i => ($"p{i}", Tensor.FromArray(new float[] { 1.5f - 0.25f * i }).RequireGrad())).ToArray();
            using var sync = new GradientBucketer(g, ps, bucketBytes: 4);
            bool reducedDuringBackward = false;
            using var probe = ps[3].Item2.RegisterPostAccumulateGradHook(_ =>
            {
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (g.Completed == 0 && DateTime.UtcNow < deadline) Thread.Sleep(1);
                reducedDuringBackward = g.Completed > 0;
            });
            using var scope = new TensorScope();
            var h = Tensor.FromArray(new float[] { g.Rank + 1f });
            for (int i = 3; i >= 0; i--) h = h * ps[i].Item2;
            sync.BeginBackward(synchronize: true);
            h.Sum().Backward();
            sync.FinishBackward();
            return (reducedDuringBackward, sync.LastBucketsReadyDuringBackward, g.Completed, bucketParams: sync.Plan.Buckets.Select(b => b.Slots[0].Parameter).ToArray());
        });
        foreach (var r in results)
        {
            Assert.Equal([3, 2, 1, 0], r.bucketParams);
            Assert.True(r.reducedDuringBackward, "no bucket was all-reduced before backward ended");
            Assert.Equal(4, r.LastBucketsReadyDuringBackward);
            Assert.Equal(4, r.Completed);
        }
    }

    [Fact]
    public void Misuse_IsRefused()
    {
        var groups = ThreadProcessGroup.Create(1);
        using var p = Tensor.FromArray(new float[] { 1f }).RequireGrad();
        using var sync = new GradientBucketer(groups[0], [("p", p)]);
        Assert.Throws<InvalidOperationException>(() => sync.FinishBackward());
        sync.BeginBackward(true);
        Assert.Throws<InvalidOperationException>(() => sync.BeginBackward(true));
        using var plain = Tensor.FromArray(new float[] { 1f });
        Assert.Throws<ArgumentException>(() => new GradientBucketer(groups[0], [("x", plain)]));
        Assert.Throws<ArgumentException>(() => new GradientBucketer(groups[0], [("p", p), ("q", p)]));
        groups[0].Dispose();
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }
}

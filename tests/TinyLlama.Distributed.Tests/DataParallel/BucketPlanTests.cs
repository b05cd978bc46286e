using TinyLlama.Distributed.DataParallel;

namespace TinyLlama.Distributed.Tests.DataParallel;

public class BucketPlanTests
{
    [Fact]
    public void Buckets_TakeParametersInReverseOrder_AndCloseOnceTheyReachTheCap()
    {
        // 100-byte cap = 25 floats. Registration order: p0 … p5.
        long[] elements = [10, 30, 5, 5, 20, 8];
        var plan = BucketPlan.Build(elements, capBytes: 100);
        var buckets = plan.Buckets.Select(b => b.Slots.Select(s => s.Parameter).ToArray()).ToArray();
        // p5 (8) + p4 (20) = 28 ≥ 25 → close; p3 + p2 + p1 = 40 → close; p0 alone.
        Assert.Equal([[5, 4], [3, 2, 1], [0]], buckets);
        Assert.Equal([28, 40, 10], plan.Buckets.Select(b => b.Elements).ToArray());
        Assert.Equal([112L, 160L, 40L], plan.Buckets.Select(b => b.Bytes).ToArray());
    }

    [Fact]
    public void EveryParameter_HasOneContiguousSlot_AndTheSlotsTileTheirBucket()
    {
        var rng = new Random(3);
        long[] elements = Enumerable.Range(0, 40).Select(_ => (long)rng.Next(1, 5000)).ToArray();
        var plan = BucketPlan.Build(elements, capBytes: 16_000);
        var seen = new HashSet<int>();
        foreach (var bucket in plan.Buckets)
        {
            int offset = 0;
            for (int k = 0; k < bucket.Slots.Count; k++)
            {
                var slot = bucket.Slots[k];
                Assert.True(seen.Add(slot.Parameter));
                Assert.Equal((bucket.Index, k, offset, (int)elements[slot.Parameter]), (slot.Bucket, slot.Position, slot.Offset, slot.Length));
                Assert.Equal(slot, plan.SlotOf(slot.Parameter));
                offset += slot.Length;
            }
            Assert.Equal(bucket.Elements, offset);
            // Below the cap until its last parameter went in.
            Assert.True((bucket.Elements - bucket.Slots[^1].Length) * 4L < 16_000);
        }
        Assert.Equal(elements.Length, seen.Count);
        // Reverse registration order across the buckets, too.
        var order = plan.Buckets.SelectMany(b => b.Slots.Select(s => s.Parameter)).ToArray();
        Assert.Equal(Enumerable.Range(0, 40).Reverse().ToArray(), order);
    }

    [Fact]
    public void AParameterLargerThanTheCap_ClosesTheBucketItJoins()
    {
        // As DDP: the cap is checked after a parameter goes in, so an oversized one ends its bucket, never splits.
        var plan = BucketPlan.Build([4, 1000, 4], capBytes: 64);
        Assert.Equal([[2, 1], [0]], plan.Buckets.Select(b => b.Slots.Select(s => s.Parameter).ToArray()).ToArray());
        Assert.Equal("2 buckets of 0.004, 0.0 MiB", plan.ToString());
    }

    [Fact]
    public void TheDefaultCap_IsDdps25MiB_AndTheTinyPresetFitsOneBucket()
    {
        Assert.Equal(25L * 1024 * 1024, BucketPlan.DefaultBucketBytes);
        using var model = new Model.LlamaForCausalLM(Model.LlamaPresets.Tiny);
        var plan = BucketPlan.Build(model.Parameters().Select(p => p.Numel).ToArray());
        // 5.0M parameters = 20 MB of f32 gradients: under one 25 MiB bucket.
        Assert.Single(plan.Buckets);
        Assert.Equal(model.ParameterCount(), plan.Buckets[0].Elements);
    }
}

using TinyLlama.Data.Packed;
using TinyLlama.Distributed.DataParallel;
using TinyLlama.Distributed.Local;
using TinyLlama.Model;
using TinyLlama.Tensors;
using TinyLlama.Training;

namespace TinyLlama.Distributed.Tests.DataParallel;

/// <summary>Set-ups that would silently train the wrong thing are refused up front, on every rank.</summary>
public sealed class MisconfigurationTests : IDisposable
{
    private readonly TrainingFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public void ALoaderShardedForAnotherRank_OrABatchThatDoesNotSplit_IsRefused()
    {
        var errors = ThreadProcessGroup.Run(2, g =>
        {
            using var data = PackedDataset.Open(Path.Combine(_fixture.Root, "data"));
            using var model = new LlamaForCausalLM(TrainingFixture.Config);
            var parallel = new DistributedDataParallel(g);
            var options = TrainingFixture.Options(microBatch: 2);
            // Every rank builds rank 0's loader: both would train on the same half of each batch.
            var wrongRank = new PackedDataLoader(data, options.SeqLen, 2, (ulong)options.Seed, rank: 0, worldSize: 2);
            var notSharded = new PackedDataLoader(data, options.SeqLen, 2, (ulong)options.Seed);
            var right = new PackedDataLoader(data, options.SeqLen, 8, (ulong)options.Seed, g.Rank, 2);
            string dir = _fixture.RunDir("refused");
            var messages = new List<string>();
            if (g.Rank == 1) messages.Add(Assert.Throws<ArgumentException>(() => new Trainer(options, model, wrongRank, null, dir, parallel)).Message);
            messages.Add(Assert.Throws<ArgumentException>(() => new Trainer(options, model, notSharded, null, dir, parallel)).Message);
            // A global batch of 8 sequences does not split into 2 ranks × micro-batches of 8.
            messages.Add(Assert.Throws<ArgumentException>(() => new Trainer(options with { MicroBatchSize = 8 }, model, right, null, dir, parallel)).Message);
            return messages;
        });
        Assert.Contains("reads the shard of rank 0 of 2; this is rank 1 of 2", errors[1][0]);
        Assert.Contains("reads the shard of rank 0 of 1; this is rank 0 of 2", errors[0][0]);
        Assert.Contains("a multiple of --micro-batch-size 8 × 2 processes", errors[0][1]);
    }

    [Fact]
    public void RanksWithDifferentModels_AreRefusedBeforeAnyValueMoves()
    {
        var e = Assert.Throws<AggregateException>(() => ThreadProcessGroup.Run(2, g =>
        {
            using var p = Tensor.Zeros(g.Rank == 0 ? [4, 2] : [2, 4]).RequireGrad();
            new DistributedDataParallel(g).BroadcastParameters([("w", p)]);
            return 0;
        }));
        Assert.Equal(2, e.InnerExceptions.Count);
        Assert.All(e.InnerExceptions, x => Assert.Contains("the ranks hold different parameters", x.Message));
    }
}

using System.Runtime.InteropServices;
using System.Text;
using TinyLlama.Tensors;
using TinyLlama.Training.Parallel;

namespace TinyLlama.Distributed.DataParallel;

/// <summary>
/// Data-parallel training over an <see cref="IProcessGroup"/> (TCP between processes, or threads in tests): what
/// the trainer's <see cref="IDataParallel"/> asks for, built from the group's collectives. Gradients are averaged
/// by a <see cref="GradientBucketer"/> with buckets of <see cref="BucketBytes"/>. Does not own the group.
/// </summary>
public sealed class DistributedDataParallel(IProcessGroup group, long bucketBytes = BucketPlan.DefaultBucketBytes) : IDataParallel
{
    public IProcessGroup Group { get; } = group ?? throw new ArgumentNullException(nameof(group));
    public long BucketBytes { get; } = bucketBytes > 0 ? bucketBytes : throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "the bucket size must be positive");
    public int Rank => Group.Rank;
    public int WorldSize => Group.WorldSize;

    /// <summary>This process's index on its host (LOCAL_RANK): which GPU `--device cuda` picks when several ranks share a machine.</summary>
    public int LocalRank => Group is TcpProcessGroup tcp ? tcp.Settings.LocalRank : Group.Rank;

    /// <summary>The bucketer the trainer last created (its plan and timings, for logs and tests).</summary>
    public GradientBucketer? Bucketer { get; private set; }

    public void Barrier() => Group.Barrier();

    public double[] AllGather(ReadOnlySpan<double> values)
    {
        var all = new double[values.Length * WorldSize];
        Group.AllGather(MemoryMarshal.AsBytes(values), MemoryMarshal.AsBytes(all.AsSpan()));
        return all;
    }

    public void BroadcastParameters(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        // Rank 0's list of names and shapes, checked on every rank before any value moves: a rank with another
        // model would otherwise receive bytes cut to the wrong tensors.
        var mine = Encoding.UTF8.GetBytes(string.Join("\n", parameters.Select(p => $"{p.Name} {p.Parameter.ShapeText}")));
        var length = new[] { mine.Length };
        Group.Broadcast(MemoryMarshal.AsBytes(length.AsSpan()));
        var rankZero = Rank == 0 ? mine : new byte[length[0]];
        Group.Broadcast(rankZero);
        bool same = rankZero.AsSpan().SequenceEqual(mine);
        if (!AllAgree(same))
            throw new InvalidOperationException($"rank {Rank}: the ranks hold different parameters (names or shapes); every rank must build the same model");
        foreach (var (_, p) in parameters)
        {
            if (p.Device.Kind == DeviceKind.Cpu)
            {
                Group.Broadcast(MemoryMarshal.AsBytes(p.AsSpan<float>()));
                continue;
            }
            // A GPU parameter goes through host memory: rank 0 downloads, every other rank uploads what arrived.
            var host = new float[p.Numel];
            if (Rank == 0) p.CopyTo<float>(host);
            Group.Broadcast(MemoryMarshal.AsBytes(host.AsSpan()));
            if (Rank != 0) p.CopyFrom<float>(host);
        }
    }

    public IGradientSync CreateGradientSync(IReadOnlyList<(string Name, Tensor Parameter)> parameters) =>
        Bucketer = new GradientBucketer(Group, parameters, BucketBytes);

    private bool AllAgree(bool mine)
    {
        var all = AllGather([mine ? 1.0 : 0.0]);
        return all.All(v => v != 0);
    }
}

using TinyLlama.Tensors;

namespace TinyLlama.Training.Parallel;

/// <summary>
/// The data-parallel job a trainer is one rank of: what the training loop needs from it, without knowing how ranks
/// talk (the implementation over a process group lives in TinyLlama.Distributed, which references this project).
/// Every call is a collective: every rank makes the same calls in the same order.
/// </summary>
public interface IDataParallel
{
    int Rank { get; }
    int WorldSize { get; }

    /// <summary>This process's index on its host (torchrun's LOCAL_RANK): `--device cuda` then means cuda:LocalRank.</summary>
    int LocalRank => Rank;

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();

    /// <summary>Every rank's <paramref name="values"/>, rank after rank (result[r · values.Length + i]); the same array on every rank.</summary>
    double[] AllGather(ReadOnlySpan<double> values);

    /// <summary>
    /// Gives every rank rank 0's parameter values, after checking that all ranks hold the same parameters (names
    /// and shapes, in the same order): every rank starts from the same model whatever its initialisation.
    /// </summary>
    void BroadcastParameters(IReadOnlyList<(string Name, Tensor Parameter)> parameters);

    /// <summary>The gradient averaging for these parameters (registration order); the trainer disposes it.</summary>
    IGradientSync CreateGradientSync(IReadOnlyList<(string Name, Tensor Parameter)> parameters);
}

/// <summary>
/// Averages gradients over the ranks around each backward pass. The trainer calls <see cref="BeginBackward"/>
/// before and <see cref="FinishBackward"/> after every micro-step's backward; only the last micro-step of an
/// optimizer step synchronizes (the earlier ones accumulate locally, as DDP's no_sync). After a synchronizing
/// FinishBackward every rank holds the same, averaged, gradients. No other collective may run in between.
/// </summary>
public interface IGradientSync : IDisposable
{
    void BeginBackward(bool synchronize);
    void FinishBackward();
}

/// <summary>Small agreements built on <see cref="IDataParallel.AllGather"/>, computed identically on every rank.</summary>
public static class DataParallelExtensions
{
    /// <summary>The mean of one value over the ranks, added in rank order in f64 (the same bits on every rank).</summary>
    public static double Average(this IDataParallel parallel, double value)
    {
        var all = parallel.AllGather([value]);
        double sum = 0;
        foreach (double v in all) sum += v;
        return sum / all.Length;
    }

    /// <summary>Whether any rank passed true: a stop request on one rank stops every rank at the same step.</summary>
    public static bool Any(this IDataParallel parallel, bool flag) => parallel.AllGather([flag ? 1.0 : 0.0]).Any(v => v != 0);

    /// <summary>Throws on every rank unless every rank passed the same <paramref name="value"/>.</summary>
    public static void EnsureSame(this IDataParallel parallel, long value, string what)
    {
        var all = parallel.AllGather([value]);
        if (all.Any(v => v != all[0]))
            throw new InvalidOperationException($"the ranks disagree on {what}: {string.Join(", ", all.Select((v, r) => $"rank {r} has {v}"))}");
    }
}

namespace TinyLlama.Distributed;

/// <summary>
/// Where this process sits in a job: its rank among <see cref="WorldSize"/> ranks, its rank on this machine, where
/// rank 0's rendezvous store listens, the token every rank of the job shares, and how long any wait may last.
/// </summary>
/// <param name="Source">Which convention the values came from ("torchrun", "slurm", "openmpi", "explicit", "single process"); shown in errors and logs.</param>
public sealed record DistributedSettings(
    int Rank,
    int WorldSize,
    int LocalRank,
    string MasterAddress,
    int MasterPort,
    string JobToken,
    TimeSpan Timeout,
    string Source)
{
    /// <summary>PyTorch's TCPStore port, so a torchrun-style environment without MASTER_PORT behaves the same.</summary>
    public const int DefaultMasterPort = 29500;

    /// <summary>
    /// Five minutes: a rendezvous or a collective that waits longer than this on a peer is broken, not slow. (PyTorch
    /// uses 30 minutes for gloo, which turns a dead peer into a half-hour stall.)
    /// </summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>One process, no sockets.</summary>
    public static DistributedSettings SingleProcess { get; } =
        new(0, 1, 0, "127.0.0.1", DefaultMasterPort, "single", DefaultTimeout, "single process");
}

/// <summary>Values given explicitly (command-line flags); each one that is set wins over the environment.</summary>
public sealed record DistributedOverrides
{
    public int? Rank { get; init; }
    public int? WorldSize { get; init; }
    public int? LocalRank { get; init; }
    public string? MasterAddress { get; init; }
    public int? MasterPort { get; init; }
    public string? JobToken { get; init; }
    public TimeSpan? Timeout { get; init; }
}

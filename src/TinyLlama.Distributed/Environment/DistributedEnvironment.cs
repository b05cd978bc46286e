using System.Globalization;

namespace TinyLlama.Distributed;

/// <summary>
/// Finds this process's place in a job from the conventions launchers already follow, first match wins:
/// explicit values (flags); torchrun (<c>RANK</c>, <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c>, <c>MASTER_ADDR</c>,
/// <c>MASTER_PORT</c>); SLURM (<c>SLURM_PROCID</c>, <c>SLURM_NTASKS</c>, <c>SLURM_LOCALID</c>, first host of
/// <c>SLURM_JOB_NODELIST</c>); Open MPI (<c>OMPI_COMM_WORLD_RANK</c>, <c>_SIZE</c>, <c>_LOCAL_RANK</c>); otherwise a
/// single process. A pure function of the variables it is given, so every convention is testable.
/// </summary>
public static class DistributedEnvironment
{
    public const string JobTokenVariable = "TINYLLAMA_JOB_TOKEN";
    public const string TimeoutVariable = "TINYLLAMA_DIST_TIMEOUT";

    /// <summary>The current process's environment.</summary>
    public static DistributedSettings FromProcess(DistributedOverrides? overrides = null)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
            variables[(string)entry.Key] = entry.Value as string ?? "";
        return Resolve(variables, overrides);
    }

    public static DistributedSettings Resolve(IReadOnlyDictionary<string, string> env, DistributedOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        overrides ??= new DistributedOverrides();

        var (rank, worldSize, localRank, source) = FindRank(env, overrides);
        if (worldSize < 1) throw new ArgumentException($"world size {worldSize} (from {source}): expected at least 1");
        if (rank < 0 || rank >= worldSize)
            throw new ArgumentException($"rank {rank} (from {source}) must be in 0..{worldSize - 1} for world size {worldSize}");
        if (localRank < 0 || localRank >= worldSize)
            throw new ArgumentException($"local rank {localRank} (from {source}) must be in 0..{worldSize - 1} for world size {worldSize}");

        string masterAddress = overrides.MasterAddress ?? Get(env, "MASTER_ADDR")
            ?? (Get(env, "SLURM_JOB_NODELIST") ?? Get(env, "SLURM_NODELIST")) switch
            {
                string list when source == "slurm" => SlurmNodeList.FirstHost(list),
                _ => "127.0.0.1",
            };
        if (masterAddress.Length == 0) throw new ArgumentException("MASTER_ADDR is empty: expected a host name or IP address of rank 0");

        int masterPort = overrides.MasterPort ?? ParseInt(env, "MASTER_PORT") ?? DistributedSettings.DefaultMasterPort;
        if (masterPort is < 1 or > 65535) throw new ArgumentException($"master port {masterPort}: expected 1..65535 (MASTER_PORT or --master-port)");

        TimeSpan timeout = overrides.Timeout ?? ParseSeconds(env, TimeoutVariable) ?? DistributedSettings.DefaultTimeout;
        if (timeout <= TimeSpan.Zero) throw new ArgumentException($"timeout {timeout.TotalSeconds} s: expected a positive number of seconds ({TimeoutVariable})");

        string token = overrides.JobToken ?? Get(env, JobTokenVariable) ?? DeriveToken(env, source, masterAddress, masterPort);
        return new DistributedSettings(rank, worldSize, localRank, masterAddress, masterPort, token, timeout, source);
    }

    static (int Rank, int WorldSize, int LocalRank, string Source) FindRank(IReadOnlyDictionary<string, string> env, DistributedOverrides o)
    {
        if (o.Rank is not null || o.WorldSize is not null)
        {
            if (o.Rank is null || o.WorldSize is null)
                throw new ArgumentException("explicit rank and world size go together: give both (--rank and --world-size) or neither");
            return (o.Rank.Value, o.WorldSize.Value, o.LocalRank ?? o.Rank.Value, "explicit");
        }
        return TryConvention(env, o, "torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK")
            ?? TryConvention(env, o, "slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NPROCS")
            ?? TryConvention(env, o, "openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK")
            ?? (0, 1, o.LocalRank ?? 0, "single process");
    }

    static (int, int, int, string)? TryConvention(IReadOnlyDictionary<string, string> env, DistributedOverrides o, string source,
        string rankName, string sizeName, string localName, string? sizeAlias = null)
    {
        int? rank = ParseInt(env, rankName);
        string? sizeVariable = Get(env, sizeName) is not null ? sizeName : sizeAlias is not null && Get(env, sizeAlias) is not null ? sizeAlias : null;
        int? size = sizeVariable is null ? null : ParseInt(env, sizeVariable);
        if (rank is null && size is null) return null;
        if (rank is null) throw new ArgumentException($"{sizeVariable}={size} is set but {rankName} is not: {source} sets both");
        if (size is null) throw new ArgumentException($"{rankName}={rank} is set but {sizeName} is not: {source} sets both");
        if (size < 1) throw new ArgumentException($"{sizeVariable}={size}: expected a world size of at least 1");
        if (rank < 0 || rank >= size) throw new ArgumentException($"{rankName}={rank} with {sizeVariable}={size}: expected a rank in 0..{size - 1}");
        // Without a local rank the job is taken to be on one machine, where the local rank is the rank.
        int local = o.LocalRank ?? ParseInt(env, localName) ?? rank.Value;
        if (local < 0 || local >= size) throw new ArgumentException($"{localName}={local} with {sizeVariable}={size}: expected a local rank in 0..{size - 1}");
        return (rank.Value, size.Value, local, source);
    }

    /// <summary>
    /// The token keeps two jobs that happen to share a port from joining each other; it is not a secret. Without
    /// <c>TINYLLAMA_JOB_TOKEN</c> it is built from what every rank of one job sees alike.
    /// </summary>
    static string DeriveToken(IReadOnlyDictionary<string, string> env, string source, string address, int port)
    {
        string? id = source switch
        {
            "torchrun" => Get(env, "TORCHELASTIC_RUN_ID"),
            "slurm" => Get(env, "SLURM_JOB_ID") is string job ? $"{job}.{Get(env, "SLURM_STEP_ID") ?? "0"}" : null,
            "openmpi" => Get(env, "OMPI_MCA_ess_base_jobid"),
            _ => null,
        };
        return $"{source}:{id ?? "-"}:{address}:{port}";
    }

    static string? Get(IReadOnlyDictionary<string, string> env, string name) =>
        env.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    static int? ParseInt(IReadOnlyDictionary<string, string> env, string name)
    {
        string? text = Get(env, name);
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw new ArgumentException($"{name}='{text}': expected an integer");
        return value;
    }

    static TimeSpan? ParseSeconds(IReadOnlyDictionary<string, string> env, string name)
    {
        string? text = Get(env, name);
        if (text is null) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0) || double.IsInfinity(seconds))
            throw new ArgumentException($"{name}='{text}': expected a positive number of seconds");
        return TimeSpan.FromSeconds(seconds);
    }
}

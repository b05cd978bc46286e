namespace TinyLlama.Distributed.DataParallel;

/// <summary>Where <c>train</c> gets its process group from.</summary>
public static class ProcessGroups
{
    /// <summary>
    /// The process group of the job this process was launched into (torchrun, SLURM or Open MPI variables, as
    /// <c>launch</c> sets them), or null to train alone when the job has one process. Rendezvous happens here: the
    /// call returns once every rank has connected to its ring neighbours, or throws naming what did not arrive.
    /// </summary>
    public static IProcessGroup? CreateFromEnvironment()
    {
        var settings = DistributedEnvironment.FromProcess();
        return settings.WorldSize == 1 ? null : TcpProcessGroup.Create(settings);
    }
}

namespace TinyLlama.Distributed.DataParallel;

/// <summary>Where <c>train</c> gets its process group from.</summary>
public static class ProcessGroups
{
    /// <summary>
    /// The process group of the job this process was launched into, or null to train alone.
    /// <para>MERGE POINT (issue #7): this is the single place <c>train</c> asks for a process group. When the TCP
    /// group (branch dist-net: environment parsing for torchrun / SLURM / OMPI, rendezvous, ring all-reduce) is
    /// merged, replace this body with its factory; nothing else in <c>train</c> changes.</para>
    /// Until then a launch of several processes is refused: each would train alone and all would write one --out.
    /// </summary>
    public static IProcessGroup? CreateFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable("WORLD_SIZE");
        if (string.IsNullOrEmpty(text) || text.Trim() == "1") return null;
        throw new NotSupportedException($"WORLD_SIZE={text}: this build has no process group between processes yet (the TCP group comes with `launch`); run train in one process");
    }
}

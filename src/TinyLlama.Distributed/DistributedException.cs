namespace TinyLlama.Distributed;

/// <summary>
/// Something went wrong between the ranks of a job. It derives from <see cref="IOException"/> because that is what
/// it is to a caller — the command line reports it as one line and exits non-zero, so a launcher can restart the job.
/// </summary>
public class DistributedException : IOException
{
    public DistributedException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// A peer died, closed its connection, stopped answering within the timeout, or sent something this rank did not
/// expect. The process group that saw it is broken for good: recreate it (in practice, restart the job).
/// </summary>
public sealed class PeerException : DistributedException
{
    public PeerException(int peerRank, string peerAddress, string message, Exception? inner = null)
        : base(message, inner)
    {
        PeerRank = peerRank;
        PeerAddress = peerAddress;
    }

    public int PeerRank { get; }
    public string PeerAddress { get; }
}

/// <summary>The ranks could not find each other: the store is unreachable, a deadline passed, a port is taken, or a handshake was refused.</summary>
public class RendezvousException : DistributedException
{
    public RendezvousException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The other side refused this rank's handshake: another job's token, another world size, or a rank already taken.</summary>
public sealed class HandshakeRefusedException : RendezvousException
{
    public HandshakeRefusedException(string message) : base(message) { }
}

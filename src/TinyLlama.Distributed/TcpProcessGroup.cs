using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TinyLlama.Distributed;

/// <summary>
/// The process group over TCP: rank 0 hosts the rendezvous store, the ranks form a ring (each sends to the next rank
/// and receives from the previous one), and every collective is a ring algorithm run by a <see cref="RingEngine"/>.
/// A world of one rank opens no sockets at all. Any failure — a peer that dies, stops answering within the timeout, or
/// sends what the collective did not expect — is a <see cref="PeerException"/> on this rank, closes this rank's links
/// so its neighbours fail at once too, and leaves the group unusable.
/// </summary>
public sealed unsafe partial class TcpProcessGroup : IProcessGroup
{
    /// <summary>
    /// Ring segments: each rank's chunk is cut into pieces of at most this many bytes, so a reduced piece is forwarded
    /// while the next is still arriving. 1 MiB is gloo's choice too; see docs/distributed.md for the measurements.
    /// </summary>
    public const int DefaultSegmentBytes = 1 << 20;

    /// <summary>
    /// All-reduces up to this many bytes gather every rank's whole buffer around the ring (N−1 steps) and add them up
    /// locally, instead of reduce-scatter + all-gather (2(N−1) steps of tiny pieces). Measured in docs/distributed.md.
    /// </summary>
    public const int DefaultSmallAllReduceBytes = 64 << 10;

    readonly StoreServer? _storeServer;
    readonly StoreClient? _store;
    readonly RingEngine? _engine;
    byte[] _gather = GC.AllocateArray<byte>(0, pinned: true);
    float[] _accumulator = [];
    readonly object _callLock = new();

    TcpProcessGroup(DistributedSettings settings, StoreServer? storeServer, StoreClient? store, RingEngine? engine)
    {
        Settings = settings;
        _storeServer = storeServer;
        _store = store;
        _engine = engine;
    }

    public DistributedSettings Settings { get; }
    public int Rank => Settings.Rank;
    public int WorldSize => Settings.WorldSize;

    /// <summary>Segment size of ring collectives, in bytes; every rank must use the same value.</summary>
    public int SegmentBytes { get; init; } = DefaultSegmentBytes;

    /// <summary>All-reduces of at most this many bytes take the gather-and-add path; every rank must use the same value.</summary>
    public int SmallAllReduceBytes { get; init; } = DefaultSmallAllReduceBytes;

    /// <summary>Forms the group: blocks until every rank has joined and the ring is connected, or throws by <see cref="DistributedSettings.Timeout"/>.</summary>
    public static TcpProcessGroup Create(DistributedSettings settings, int segmentBytes = DefaultSegmentBytes, int smallAllReduceBytes = DefaultSmallAllReduceBytes)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (segmentBytes < 64 || segmentBytes % 4 != 0) throw new ArgumentException($"segment size {segmentBytes} bytes: expected a multiple of 4, at least 64");
        if (smallAllReduceBytes < 0) throw new ArgumentException($"small all-reduce limit {smallAllReduceBytes} bytes: expected ≥ 0");
        if (settings.WorldSize == 1)
            return new TcpProcessGroup(settings, null, null, null) { SegmentBytes = segmentBytes, SmallAllReduceBytes = smallAllReduceBytes };

        var clock = Stopwatch.StartNew();
        StoreServer? server = null;
        StoreClient? store = null;
        bool formed = false;
        try
        {
            if (settings.Rank == 0) server = StoreServer.Start(StoreBindAddress(settings.MasterAddress), settings.MasterPort, settings.WorldSize, settings.JobToken);
            store = StoreClient.Connect(settings.MasterAddress, settings.MasterPort, settings.Rank, settings.WorldSize, settings.JobToken, settings.Timeout);
            var left = settings.Timeout - clock.Elapsed;
            var (next, previous) = RingRendezvous.Connect(store, settings.Rank, settings.WorldSize, settings.JobToken, left > TimeSpan.Zero ? left : TimeSpan.Zero, settings.Timeout);
            var group = new TcpProcessGroup(settings, server, store, new RingEngine(next, previous, settings.Rank, settings.Timeout))
            {
                SegmentBytes = segmentBytes,
                SmallAllReduceBytes = smallAllReduceBytes,
            };
            try
            {
                group.Barrier(); // the whole ring carries a message before anyone trains on it
            }
            catch
            {
                group.Dispose();
                throw;
            }
            formed = true;
            return group;
        }
        catch (Exception e) when (e is not DistributedException && (e is IOException or SocketException or InvalidDataException))
        {
            throw new RendezvousException($"rank {settings.Rank}: rendezvous through {settings.MasterAddress}:{settings.MasterPort} failed: {e.Message}", e);
        }
        finally
        {
            if (!formed)
            {
                store?.Dispose();
                server?.Dispose();
            }
        }
    }

    /// <summary>The store listens on loopback when the job is local (nothing else can reach it), on every interface otherwise.</summary>
    static IPAddress StoreBindAddress(string masterAddress)
    {
        if (IPAddress.TryParse(masterAddress, out var ip)) return IPAddress.IsLoopback(ip) ? ip : IPAddress.Any;
        return masterAddress.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.Any;
    }

    public void Dispose()
    {
        _engine?.Dispose();
        _store?.Dispose();
        _storeServer?.Dispose();
    }
}

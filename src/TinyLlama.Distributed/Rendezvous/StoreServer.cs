using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TinyLlama.Distributed;

/// <summary>
/// The rendezvous key-value store rank 0 hosts, in the manner of PyTorch's TCPStore: set, get (waiting for the key),
/// add (an atomic counter) and wait. One thread per client is plenty — a job has a handful of ranks, each with one
/// connection. A client must first say hello with the job's token, its rank and the world size; a wrong token is
/// refused (and remembered, so a rendezvous that then times out can say why); a wrong world size or a rank that
/// joins twice breaks the rendezvous for everyone, because the job as configured cannot work.
/// </summary>
public sealed class StoreServer : IDisposable
{
    readonly Socket _listener;
    readonly int _worldSize;
    readonly string _token;
    readonly object _lock = new();
    readonly Dictionary<string, byte[]> _values = new(StringComparer.Ordinal);
    readonly SortedDictionary<int, string> _joined = [];
    readonly List<string> _refusals = [];
    readonly List<Socket> _clients = [];
    string? _failure;
    bool _disposed;

    StoreServer(Socket listener, int worldSize, string token)
    {
        _listener = listener;
        _worldSize = worldSize;
        _token = token;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        new Thread(AcceptLoop) { IsBackground = true, Name = "rendezvous store accept" }.Start();
    }

    public IPEndPoint EndPoint { get; }
    public int Port => EndPoint.Port;

    /// <summary>Listens on <paramref name="address"/>:<paramref name="port"/> (port 0: any free port).</summary>
    public static StoreServer Start(IPAddress address, int port, int worldSize, string token)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(128);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            string why = e.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? "the port is already in use (another job, or an earlier run still exiting): choose another MASTER_PORT"
                : $"{e.SocketErrorCode}: {e.Message}";
            throw new RendezvousException($"rank 0 cannot host the rendezvous store on {address}:{port}: {why}", e);
        }
        return new StoreServer(listener, worldSize, token);
    }

    /// <summary>What the store knows about who joined and who was turned away; rendezvous errors quote it.</summary>
    public string Describe()
    {
        lock (_lock)
        {
            var text = new StringBuilder($"{_joined.Count} of {_worldSize} ranks joined the store at {EndPoint}");
            if (_joined.Count < _worldSize)
                text.Append(CultureInfo.InvariantCulture, $"; missing: {string.Join(", ", Enumerable.Range(0, _worldSize).Where(r => !_joined.ContainsKey(r)))}");
            if (_refusals.Count > 0) text.Append("; refused: ").Append(string.Join("; ", _refusals));
            return text.ToString();
        }
    }

    void AcceptLoop()
    {
        while (true)
        {
            Socket client;
            try { client = _listener.Accept(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            lock (_lock)
            {
                if (_disposed) { client.Dispose(); return; }
                _clients.Add(client);
            }
            new Thread(() => Serve(client)) { IsBackground = true, Name = "rendezvous store client" }.Start();
        }
    }

    void Serve(Socket client)
    {
        string peer = client.RemoteEndPoint?.ToString() ?? "?";
        client.NoDelay = true;
        using var stream = new NetworkStream(client, ownsSocket: true);
        int rank = -1;
        try
        {
            while (StoreProtocol.ReadRequest(stream) is { } request)
            {
                if (rank < 0)
                {
                    if (request.Op != StoreOp.Hello)
                    {
                        StoreProtocol.WriteResponse(stream, StoreStatus.Error, $"the store at {EndPoint} expects a hello first, got {request.Op}");
                        return;
                    }
                    string? refusal = Admit(request, peer, out rank);
                    StoreProtocol.WriteResponse(stream, refusal is null ? StoreStatus.Ok : StoreStatus.Error, refusal ?? "");
                    if (refusal is not null) return;
                    continue;
                }
                Answer(stream, request);
            }
        }
        catch (InvalidDataException e)
        {
            // A malformed or oversized request: say why, then drop this client; the store itself carries on.
            lock (_lock) _refusals.Add($"{peer}: {e.Message}");
            try { StoreProtocol.WriteResponse(stream, StoreStatus.Error, $"the store at {EndPoint} refused a request: {e.Message}"); } catch (IOException) { }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The client went away (a truncated request included); nothing to answer.
        }
        finally
        {
            lock (_lock) _clients.Remove(client);
        }
    }

    string? Admit(StoreProtocol.Request hello, string peer, out int rank)
    {
        var (claimedRank, worldSize) = StoreProtocol.ParseHello(hello.Argument);
        rank = -1;
        lock (_lock)
        {
            string? refusal = null;
            if (hello.Value.Length > StoreProtocol.MaxTokenBytes || Encoding.UTF8.GetString(hello.Value) != _token)
            {
                refusal = $"{peer} (rank {claimedRank}) has a different job token: it belongs to another job, or the ranks were started with different TINYLLAMA_JOB_TOKEN";
                _refusals.Add(refusal);
                return $"the rendezvous store at {EndPoint} refused rank {claimedRank}: its job token does not match this job's";
            }
            if (worldSize != _worldSize)
                refusal = $"rank {claimedRank} at {peer} says the world size is {worldSize}, but rank 0 says {_worldSize}";
            else if (claimedRank < 0 || claimedRank >= _worldSize)
                refusal = $"{peer} claims rank {claimedRank}, outside 0..{_worldSize - 1}";
            else if (_joined.TryGetValue(claimedRank, out var first))
                refusal = $"rank {claimedRank} joined twice, from {first} and from {peer}: two processes were given the same rank";
            if (refusal is not null)
            {
                // The job as configured cannot work: fail every waiting and future request with the reason.
                _refusals.Add(refusal);
                _failure ??= refusal;
                Monitor.PulseAll(_lock);
                return $"the rendezvous store at {EndPoint} refused the job: {refusal}";
            }
            _joined[claimedRank] = peer;
            rank = claimedRank;
            return null;
        }
    }

    void Answer(Stream stream, StoreProtocol.Request request)
    {
        switch (request.Op)
        {
            case StoreOp.Set:
                lock (_lock)
                {
                    _values[request.Key] = request.Value;
                    Monitor.PulseAll(_lock);
                }
                StoreProtocol.WriteResponse(stream, StoreStatus.Ok, []);
                break;
            case StoreOp.Add:
                long total = 0;
                bool isCounter;
                lock (_lock)
                {
                    long current = 0;
                    isCounter = !_values.TryGetValue(request.Key, out var old)
                                || long.TryParse(Encoding.ASCII.GetString(old), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out current);
                    if (isCounter)
                    {
                        total = current + request.Argument;
                        _values[request.Key] = Encoding.ASCII.GetBytes(total.ToString(CultureInfo.InvariantCulture));
                        Monitor.PulseAll(_lock);
                    }
                }
                if (isCounter) StoreProtocol.WriteResponse(stream, StoreStatus.Ok, [], total);
                else StoreProtocol.WriteResponse(stream, StoreStatus.Error, $"store key '{request.Key}' holds a value that is not a counter");
                break;
            case StoreOp.Get or StoreOp.Wait:
                var (status, value, message) = WaitFor(request.Key, TimeSpan.FromMilliseconds(Math.Max(0, request.Argument)));
                if (status == StoreStatus.Ok) StoreProtocol.WriteResponse(stream, status, request.Op == StoreOp.Get ? value : []);
                else StoreProtocol.WriteResponse(stream, status, message);
                break;
            default:
                StoreProtocol.WriteResponse(stream, StoreStatus.Error, $"a second hello on one connection to the store at {EndPoint}");
                break;
        }
    }

    (StoreStatus, byte[], string) WaitFor(string key, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (true)
            {
                if (_failure is not null) return (StoreStatus.Error, [], $"the rendezvous failed: {_failure}");
                if (_disposed) return (StoreStatus.Error, [], $"the store at {EndPoint} is shutting down");
                if (_values.TryGetValue(key, out var value)) return (StoreStatus.Ok, value, "");
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) break;
                Monitor.Wait(_lock, left);
            }
        }
        return (StoreStatus.Timeout, [], $"key '{key}' was not set within {timeout.TotalSeconds:0.###} s; {Describe()}");
    }

    public void Dispose()
    {
        List<Socket> clients;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            clients = [.. _clients];
            Monitor.PulseAll(_lock);
        }
        _listener.Dispose();
        foreach (var client in clients)
        {
            try { client.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
            client.Dispose();
        }
    }
}

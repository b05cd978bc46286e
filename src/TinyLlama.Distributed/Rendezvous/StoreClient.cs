using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TinyLlama.Distributed;

/// <summary>
/// A rank's connection to the rendezvous store. Connecting retries until the deadline, because rank 0 may start
/// later than the others; every later call waits at most its own timeout, and an error says which store and which key.
/// </summary>
public sealed class StoreClient : IDisposable
{
    // How much longer than the server's own wait this side waits for the answer before calling the store dead.
    static readonly TimeSpan AnswerSlack = TimeSpan.FromSeconds(5);

    readonly Socket _socket;
    readonly NetworkStream _stream;
    readonly string _address;
    readonly int _rank;
    readonly object _lock = new();

    StoreClient(Socket socket, string address, int rank, TimeSpan timeout)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _address = address;
        _rank = rank;
        Timeout = timeout;
    }

    /// <summary>The default wait of <see cref="Get(string)"/> and <see cref="Wait(IEnumerable{string})"/>.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>This side's address of the connection: the interface through which rank 0 is reachable, which the ring advertises.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public static StoreClient Connect(string host, int port, int rank, int worldSize, string token, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string address = $"{host}:{port}";
        Exception? last = null;
        var pause = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) break;
            Socket? socket = null;
            try
            {
                socket = ConnectOnce(host, port, left);
                var client = new StoreClient(socket, address, rank, timeout);
                socket = null; // owned by the client now
                try
                {
                    client.Hello(rank, worldSize, token);
                }
                catch
                {
                    client.Dispose();
                    throw;
                }
                return client;
            }
            catch (SocketException e)
            {
                last = e; // not listening yet (or unreachable): rank 0 may still be starting
            }
            catch (OperationCanceledException e)
            {
                last = e;
            }
            finally
            {
                socket?.Dispose();
            }
            Thread.Sleep(pause < left ? pause : left);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
        }
        throw new RendezvousException(
            $"rank {rank} could not reach the rendezvous store at {address} within {timeout.TotalSeconds:0.###} s " +
            $"(last error: {last?.Message ?? "none"}): is rank 0 running, and are MASTER_ADDR and MASTER_PORT right?", last);
    }

    static Socket ConnectOnce(string host, int port, TimeSpan left)
    {
        var addresses = Dns.GetHostAddresses(host);
        if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
        var endPoint = new IPEndPoint(addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0], port);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cancel = new CancellationTokenSource(left);
            socket.ConnectAsync(endPoint, cancel.Token).AsTask().GetAwaiter().GetResult();
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    void Hello(int rank, int worldSize, string token)
    {
        var (status, payload, _) = Call(StoreOp.Hello, "", Encoding.UTF8.GetBytes(token), StoreProtocol.HelloArgument(rank, worldSize), Timeout);
        if (status != StoreStatus.Ok) throw new HandshakeRefusedException($"rank {rank}: {Encoding.UTF8.GetString(payload)}");
    }

    public void Set(string key, ReadOnlySpan<byte> value) => Expect(key, Call(StoreOp.Set, key, value.ToArray(), 0, Timeout));

    public void Set(string key, string value) => Set(key, Encoding.UTF8.GetBytes(value));

    /// <summary>The value of <paramref name="key"/>, waiting up to <paramref name="timeout"/> for some rank to set it.</summary>
    public byte[] Get(string key, TimeSpan timeout) => Expect(key, Call(StoreOp.Get, key, [], (long)timeout.TotalMilliseconds, timeout + AnswerSlack)).Payload;

    public byte[] Get(string key) => Get(key, Timeout);

    public string GetString(string key, TimeSpan timeout) => Encoding.UTF8.GetString(Get(key, timeout));

    /// <summary>Adds <paramref name="delta"/> to the counter at <paramref name="key"/> (0 if unset) and returns the new value.</summary>
    public long Add(string key, long delta) => Expect(key, Call(StoreOp.Add, key, [], delta, Timeout)).Number;

    /// <summary>Returns when every key is set; throws a <see cref="RendezvousException"/> naming the first missing key after <paramref name="timeout"/>.</summary>
    public void Wait(IEnumerable<string> keys, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        foreach (var key in keys)
        {
            var left = timeout - clock.Elapsed;
            if (left < TimeSpan.Zero) left = TimeSpan.Zero;
            Expect(key, Call(StoreOp.Wait, key, [], (long)left.TotalMilliseconds, left + AnswerSlack));
        }
    }

    public void Wait(IEnumerable<string> keys) => Wait(keys, Timeout);

    (StoreStatus Status, byte[] Payload, long Number) Expect(string key, (StoreStatus Status, byte[] Payload, long Number) answer)
    {
        if (answer.Status == StoreStatus.Ok) return answer;
        string message = Encoding.UTF8.GetString(answer.Payload);
        throw new RendezvousException($"rank {_rank}: store {_address}, key '{key}': {message}");
    }

    (StoreStatus, byte[], long) Call(StoreOp op, string key, byte[] value, long argument, TimeSpan answerTimeout)
    {
        lock (_lock)
        {
            try
            {
                _socket.ReceiveTimeout = (int)Math.Clamp(answerTimeout.TotalMilliseconds, 1, int.MaxValue);
                StoreProtocol.WriteRequest(_stream, op, key, value, argument);
                return StoreProtocol.ReadResponse(_stream);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidDataException)
            {
                throw new RendezvousException($"rank {_rank}: the rendezvous store at {_address} failed during {op} '{key}': {e.Message}", e);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}

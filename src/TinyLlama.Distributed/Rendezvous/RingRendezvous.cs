using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TinyLlama.Distributed;

/// <summary>
/// Forms the ring: every rank listens on a free port, publishes its address in the store under <c>ring/&lt;rank&gt;</c>,
/// then connects to the next rank's address (the link it sends on) and accepts the previous rank's connection (the link
/// it receives on). Both halves run at once and both end by the deadline, the listening half included — a rank whose
/// predecessor never shows up gets an error naming it, not a hang.
/// </summary>
internal static class RingRendezvous
{
    /// <param name="timeout">The rendezvous deadline, from now.</param>
    /// <param name="linkTimeout">How long the links' sends and receives may wait on the peer, once connected.</param>
    public static (PeerLink Next, PeerLink Previous) Connect(StoreClient store, int rank, int worldSize, string token, TimeSpan timeout, TimeSpan linkTimeout)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan Left() => timeout - clock.Elapsed > TimeSpan.Zero ? timeout - clock.Elapsed : TimeSpan.Zero;
        int next = (rank + 1) % worldSize, previous = (rank - 1 + worldSize) % worldSize;

        // Listen on the interface through which rank 0 was reached: the others can reach it too.
        IPAddress local = store.LocalEndPoint.Address;
        using var listener = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(local, 0));
        listener.Listen(16);
        var listening = (IPEndPoint)listener.LocalEndPoint!;
        store.Set($"ring/{rank}", listening.ToString());

        using var cancel = new CancellationTokenSource();
        var accepting = Task.Run(() => AcceptPredecessor(listener, listening, rank, previous, worldSize, token, timeout, cancel.Token));
        Socket? sendSocket = null;
        try
        {
            // Wait for every rank, not just the next one: the store answers at once if the rendezvous failed (a rank
            // joined twice, say), and once all are registered every predecessor is known to be alive and listening.
            store.Wait(Enumerable.Range(0, worldSize).Select(r => $"ring/{r}"), Left());
            string address = store.GetString($"ring/{next}", Left());
            sendSocket = ConnectSuccessor(address, rank, next, worldSize, token, Left);
            if (!accepting.Wait(Left() + TimeSpan.FromSeconds(1)))
                throw new RendezvousException($"rank {rank}: rank {previous} did not connect to {listening} within {timeout.TotalSeconds:0.###} s");
            var receiveSocket = accepting.Result;
            return (new PeerLink(sendSocket, rank, next, linkTimeout), new PeerLink(receiveSocket, rank, previous, linkTimeout));
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            sendSocket?.Dispose();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
        catch
        {
            sendSocket?.Dispose();
            cancel.Cancel();
            try { accepting.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
            if (accepting.IsCompletedSuccessfully) accepting.Result.Dispose();
            throw;
        }
    }

    static Socket ConnectSuccessor(string address, int rank, int next, int worldSize, string token, Func<TimeSpan> left)
    {
        if (!IPEndPoint.TryParse(address, out var endPoint))
            throw new RendezvousException($"rank {rank}: rank {next} published '{address}' as its ring address, which is not an IP address and port");
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            BlockingConnect.Connect(socket, endPoint, left());
            socket.ReceiveTimeout = socket.SendTimeout = (int)Math.Clamp(left().TotalMilliseconds, 1, int.MaxValue);
            RingHandshake.Offer(socket, rank, worldSize, token);
            return socket;
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            socket.Dispose();
            throw new RendezvousException($"rank {rank}: could not connect to rank {next} at {address}: {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    static Socket AcceptPredecessor(Socket listener, IPEndPoint listening, int rank, int previous, int worldSize, string token,
        TimeSpan timeout, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var refusals = new List<string>();
        while (true)
        {
            var left = timeout - clock.Elapsed;
            var socket = BlockingConnect.Accept(listener, left, cancel);
            if (socket is null)
            {
                cancel.ThrowIfCancellationRequested();
                string refused = refusals.Count == 0 ? "" : $"; refused: {string.Join("; ", refusals)}";
                throw new RendezvousException(
                    $"rank {rank}: rank {previous} did not connect to {listening} within {timeout.TotalSeconds:0.###} s{refused}");
            }
            string peer = socket.RemoteEndPoint?.ToString() ?? "?";
            try
            {
                socket.ReceiveTimeout = socket.SendTimeout = (int)Math.Clamp(Math.Min(5000, (timeout - clock.Elapsed).TotalMilliseconds), 1, int.MaxValue);
                string? reason = RingHandshake.Judge(socket, rank, previous, worldSize, token);
                if (reason is null) return socket;
                refusals.Add($"{peer}: {reason}");
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                refusals.Add($"{peer}: {e.Message}");
            }
            socket.Dispose();
        }
    }
}

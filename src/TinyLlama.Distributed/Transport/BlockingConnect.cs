using System.Net;
using System.Net.Sockets;

namespace TinyLlama.Distributed;

/// <summary>
/// Connect and accept with deadlines, without the async socket API: on Linux a socket that has once been used
/// asynchronously stays non-blocking, and every later synchronous send and receive is emulated through the async
/// engine's event thread — measured here, that made the ring several times slower. So the ring's sockets only ever
/// see synchronous calls; deadlines come from <see cref="Socket.Poll(TimeSpan, SelectMode)"/>.
/// </summary>
internal static class BlockingConnect
{
    static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(100);

    public static void Connect(Socket socket, EndPoint endPoint, TimeSpan timeout)
    {
        socket.Blocking = false;
        try
        {
            socket.Connect(endPoint);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress or SocketError.AlreadyInProgress)
        {
            if (!socket.Poll(timeout, SelectMode.SelectWrite))
                throw new SocketException((int)SocketError.TimedOut);
            int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            if (error != 0) throw new SocketException(error);
        }
        socket.Blocking = true;
    }

    /// <summary>The next connection, or null once <paramref name="timeout"/> has passed or <paramref name="cancel"/> fired.</summary>
    public static Socket? Accept(Socket listener, TimeSpan timeout, CancellationToken cancel)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!cancel.IsCancellationRequested)
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) return null;
            if (listener.Poll(left < Slice ? left : Slice, SelectMode.SelectRead)) return listener.Accept();
        }
        return null;
    }
}

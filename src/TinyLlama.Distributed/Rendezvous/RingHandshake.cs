using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace TinyLlama.Distributed;

/// <summary>
/// The first bytes on a ring link. The connecting rank says who it is — magic, rank, world size, job token — and the
/// listening rank answers yes, or no with the reason, which the connecting side turns into its own exception. Every
/// length is checked against a cap before anything is read into memory.
/// </summary>
internal static class RingHandshake
{
    const uint Magic = 0x48524C54; // "TLRH"
    const int MaxReasonBytes = 1024;

    public static void Offer(Socket socket, int rank, int worldSize, string token)
    {
        var tokenBytes = Encoding.UTF8.GetBytes(token);
        if (tokenBytes.Length > StoreProtocol.MaxTokenBytes) throw new ArgumentException($"job token of {tokenBytes.Length} bytes; the cap is {StoreProtocol.MaxTokenBytes}");
        var hello = new byte[14 + tokenBytes.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(hello, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(4), rank);
        BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(8), worldSize);
        BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(12), (ushort)tokenBytes.Length);
        tokenBytes.CopyTo(hello, 14);
        SendAll(socket, hello);

        Span<byte> answer = stackalloc byte[3];
        ReceiveAll(socket, answer);
        int reasonBytes = BinaryPrimitives.ReadUInt16LittleEndian(answer[1..]);
        if (answer[0] == 0 && reasonBytes == 0) return;
        if (reasonBytes > MaxReasonBytes) throw new InvalidDataException($"a handshake answer claims a {reasonBytes}-byte reason (cap {MaxReasonBytes})");
        var reason = new byte[reasonBytes];
        ReceiveAll(socket, reason);
        throw new HandshakeRefusedException($"rank {rank}: rank at {socket.RemoteEndPoint} refused the ring connection: {Encoding.UTF8.GetString(reason)}");
    }

    /// <summary>Reads the connecting side's hello; null if it is the expected rank of this job (and says yes), else the reason it was refused (and says so).</summary>
    public static string? Judge(Socket socket, int localRank, int expectedRank, int worldSize, string token)
    {
        Span<byte> head = stackalloc byte[14];
        ReceiveAll(socket, head);
        string? reason = null;
        int rank = BinaryPrimitives.ReadInt32LittleEndian(head[4..]);
        int theirWorld = BinaryPrimitives.ReadInt32LittleEndian(head[8..]);
        int tokenBytes = BinaryPrimitives.ReadUInt16LittleEndian(head[12..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head) != Magic) reason = "not a TinyLlama ring handshake";
        else if (tokenBytes > StoreProtocol.MaxTokenBytes) reason = $"a {tokenBytes}-byte job token (cap {StoreProtocol.MaxTokenBytes})";
        else
        {
            var theirToken = new byte[tokenBytes];
            ReceiveAll(socket, theirToken);
            if (Encoding.UTF8.GetString(theirToken) != token) reason = "the job token does not match: it belongs to another job";
            else if (theirWorld != worldSize) reason = $"it says the world size is {theirWorld}, rank {localRank} says {worldSize}";
            else if (rank != expectedRank) reason = $"rank {localRank} expects its ring predecessor, rank {expectedRank}, but rank {rank} connected";
        }
        var reasonText = reason is null ? [] : Encoding.UTF8.GetBytes(reason);
        var answer = new byte[3 + reasonText.Length];
        answer[0] = reason is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteUInt16LittleEndian(answer.AsSpan(1), (ushort)reasonText.Length);
        reasonText.CopyTo(answer, 3);
        SendAll(socket, answer);
        return reason;
    }

    static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty) data = data[socket.Send(data)..];
    }

    static void ReceiveAll(Socket socket, Span<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = socket.Receive(data);
            if (n == 0) throw new EndOfStreamException($"the handshake with {socket.RemoteEndPoint} ended early: the other side closed the connection");
            data = data[n..];
        }
    }
}

using System.Buffers.Binary;
using System.Text;

namespace TinyLlama.Distributed;

internal enum StoreOp : byte
{
    Hello = 1,
    Set = 2,
    Get = 3,
    Add = 4,
    Wait = 5,
}

internal enum StoreStatus : byte
{
    Ok = 0,
    Timeout = 1,
    Error = 2,
}

/// <summary>
/// The store's wire format. A request is a 16-byte header (op, key length, value length, a 64-bit argument) then
/// the key and the value; a response is a 16-byte header (status, payload length, a 64-bit number) then the payload.
/// Lengths are checked against caps before anything is allocated, on both sides.
/// </summary>
internal static class StoreProtocol
{
    public const int HeaderSize = 16;
    public const int MaxKeyBytes = 1024;
    /// <summary>Values are addresses, counters and small blobs; 64 MiB is far above any of them and far below harm.</summary>
    public const int MaxValueBytes = 64 << 20;
    public const int MaxTokenBytes = 256;

    public readonly record struct Request(StoreOp Op, string Key, byte[] Value, long Argument);

    public static void WriteRequest(Stream stream, StoreOp op, string key, ReadOnlySpan<byte> value, long argument)
    {
        int keyBytes = Encoding.UTF8.GetByteCount(key);
        if (keyBytes > MaxKeyBytes) throw new ArgumentException($"store key '{key[..Math.Min(40, key.Length)]}…' is {keyBytes} bytes; the cap is {MaxKeyBytes}");
        if (value.Length > MaxValueBytes) throw new ArgumentException($"store value for '{key}' is {value.Length} bytes; the cap is {MaxValueBytes}");
        var buffer = new byte[HeaderSize + keyBytes + value.Length];
        buffer[0] = (byte)op;
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(2), (ushort)keyBytes);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(4), value.Length);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(8), argument);
        Encoding.UTF8.GetBytes(key, buffer.AsSpan(HeaderSize));
        value.CopyTo(buffer.AsSpan(HeaderSize + keyBytes));
        stream.Write(buffer);
    }

    /// <summary>Null when the client closed the connection between requests; a <see cref="InvalidDataException"/> for a bad header.</summary>
    public static Request? ReadRequest(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        int first = stream.Read(header);
        if (first == 0) return null;
        stream.ReadExactly(header[first..]);
        var op = (StoreOp)header[0];
        if (op is < StoreOp.Hello or > StoreOp.Wait) throw new InvalidDataException($"unknown store request {header[0]}");
        int keyBytes = BinaryPrimitives.ReadUInt16LittleEndian(header[2..]);
        int valueBytes = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        long argument = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (keyBytes > MaxKeyBytes) throw new InvalidDataException($"store key of {keyBytes} bytes exceeds the cap of {MaxKeyBytes}");
        if (valueBytes < 0 || valueBytes > MaxValueBytes) throw new InvalidDataException($"store value of {valueBytes} bytes is outside 0..{MaxValueBytes}");
        var key = new byte[keyBytes];
        stream.ReadExactly(key);
        var value = new byte[valueBytes];
        stream.ReadExactly(value);
        return new Request(op, Encoding.UTF8.GetString(key), value, argument);
    }

    public static void WriteResponse(Stream stream, StoreStatus status, ReadOnlySpan<byte> payload, long number = 0)
    {
        var buffer = new byte[HeaderSize + payload.Length];
        buffer[0] = (byte)status;
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(4), payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(8), number);
        payload.CopyTo(buffer.AsSpan(HeaderSize));
        stream.Write(buffer);
    }

    public static void WriteResponse(Stream stream, StoreStatus status, string message) =>
        WriteResponse(stream, status, Encoding.UTF8.GetBytes(message));

    public static (StoreStatus Status, byte[] Payload, long Number) ReadResponse(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        stream.ReadExactly(header);
        var status = (StoreStatus)header[0];
        if (status is < StoreStatus.Ok or > StoreStatus.Error) throw new InvalidDataException($"unknown store response status {header[0]}");
        int length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (length < 0 || length > MaxValueBytes) throw new InvalidDataException($"store response of {length} bytes is outside 0..{MaxValueBytes}");
        var payload = new byte[length];
        stream.ReadExactly(payload);
        return (status, payload, BinaryPrimitives.ReadInt64LittleEndian(header[8..]));
    }

    public static long HelloArgument(int rank, int worldSize) => ((long)rank << 32) | (uint)worldSize;
    public static (int Rank, int WorldSize) ParseHello(long argument) => ((int)(argument >> 32), (int)(uint)argument);
}

using System.Buffers.Binary;
using System.Text;

namespace TinyLlama.Data.Packed;

/// <summary>Token element types of a packed file, by lit-gpt's dtype code.</summary>
public enum PackedDType : byte
{
    UInt8 = 1,
    Int8 = 2,
    Int16 = 3,
    Int32 = 4,
    Int64 = 5,
    Float32 = 6,
    Float64 = 7,
    UInt16 = 8,
}

/// <summary>
/// The header of lit-gpt's packed token files (<c>lit_gpt/packed_dataset.py</c>), which TinyLlama's
/// preprocessed SlimPajama and Starcoder data use:
/// <code>
/// offset  0  7 bytes  magic "LITPKDS"
/// offset  7  u64 LE   version (1)
/// offset 15  u8       dtype code (8 = uint16, 4 = int32, ...)
/// offset 16  u64 LE   chunk size, in tokens
/// offset 24  chunk size tokens, little-endian, of the dtype
/// </code>
/// </summary>
public readonly record struct PackedHeader(PackedDType DType, long ChunkSize)
{
    public const int Size = 24;
    public const ulong Version = 1;
    public static ReadOnlySpan<byte> Magic => "LITPKDS"u8;

    /// <summary>lit-gpt's "auto" dtype: uint16 below a vocabulary of 65,500, else int32.</summary>
    public static PackedDType AutoDType(int vocabSize) => vocabSize < 65500 ? PackedDType.UInt16 : PackedDType.Int32;

    public static int ItemSize(PackedDType dtype) => dtype switch
    {
        PackedDType.UInt8 or PackedDType.Int8 => 1,
        PackedDType.Int16 or PackedDType.UInt16 => 2,
        PackedDType.Int32 or PackedDType.Float32 => 4,
        PackedDType.Int64 or PackedDType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), $"unknown dtype code {(byte)dtype}"),
    };

    public int ItemSize() => ItemSize(DType);

    /// <summary>Bytes a valid file with this header has: header plus exactly one chunk.</summary>
    public long FileLength => Size + ChunkSize * ItemSize();

    /// <summary>lit-gpt's file naming: <c>{prefix}_{counter:010d}.bin</c>.</summary>
    public static string FileName(string prefix, long counter) => $"{prefix}_{counter:D10}.bin";

    public void Write(Span<byte> dest)
    {
        if (dest.Length < Size)
            throw new ArgumentException($"a header needs {Size} bytes", nameof(dest));
        Magic.CopyTo(dest);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[7..], Version);
        dest[15] = (byte)DType;
        BinaryPrimitives.WriteUInt64LittleEndian(dest[16..], (ulong)ChunkSize);
    }

    /// <summary>
    /// Parses and validates a header; <paramref name="fileLength"/> is checked against the size the header
    /// promises. Every failure is an <see cref="InvalidDataException"/> that names the file and the field.
    /// </summary>
    public static PackedHeader Parse(ReadOnlySpan<byte> bytes, long fileLength, string fileName)
    {
        if (fileLength == 0)
            throw Bad(fileName, "empty file (0 bytes)");
        if (bytes.Length < Size || fileLength < Size)
            throw Bad(fileName, $"truncated: expected at least a {Size}-byte header, found {fileLength} bytes");
        if (!bytes[..7].SequenceEqual(Magic))
            throw Bad(fileName, $"bad magic: expected \"LITPKDS\", found \"{Printable(bytes[..7])}\"");
        ulong version = BinaryPrimitives.ReadUInt64LittleEndian(bytes[7..]);
        if (version != Version)
            throw Bad(fileName, $"unsupported version {version} (expected {Version})");
        byte code = bytes[15];
        var dtype = (PackedDType)code;
        if (code is < 1 or > 8)
            throw Bad(fileName, $"unknown dtype code {code} (lit-gpt knows 1..8)");
        if (dtype is PackedDType.Float32 or PackedDType.Float64)
            throw Bad(fileName, $"unsupported dtype code {code} ({dtype}): token files must hold integers");
        ulong chunk = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
        if (chunk == 0)
            throw Bad(fileName, "chunk size is 0");
        if (chunk > (ulong)(long.MaxValue - Size) / (ulong)ItemSize(dtype))
            throw Bad(fileName, $"chunk size {chunk} is too large");
        var header = new PackedHeader(dtype, (long)chunk);
        long expected = header.FileLength;
        if (fileLength < expected)
            throw Bad(fileName, $"truncated: expected {expected} bytes ({chunk} {dtype} tokens + {Size}-byte header), found {fileLength}");
        if (fileLength > expected)
            throw Bad(fileName, $"trailing data: expected {expected} bytes ({chunk} {dtype} tokens + {Size}-byte header), found {fileLength}");
        return header;
    }

    private static InvalidDataException Bad(string fileName, string what) =>
        new($"packed token file '{fileName}': {what}");

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (byte b in bytes)
            sb.Append(b is >= 0x20 and < 0x7f ? (char)b : $"\\x{b:x2}");
        return sb.ToString();
    }
}

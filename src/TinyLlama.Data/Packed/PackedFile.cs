using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace TinyLlama.Data.Packed;

/// <summary>
/// One memory-mapped packed token file. The header is validated on open (see <see cref="PackedHeader.Parse"/>);
/// tokens are read by position and widened to <see cref="int"/>. Reads never copy the file: the OS pages it in.
/// </summary>
public sealed unsafe class PackedFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _tokens; // first token, just past the header
    private bool _disposed;

    public string Path { get; }
    public PackedHeader Header { get; }
    public long ChunkSize => Header.ChunkSize;
    public PackedDType DTypeCode => Header.DType;

    private PackedFile(string path, PackedHeader header, MemoryMappedFile map, MemoryMappedViewAccessor view)
    {
        Path = path;
        Header = header;
        _map = map;
        _view = view;
        byte* basePtr = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        _tokens = basePtr + view.PointerOffset + PackedHeader.Size;
    }

    /// <summary>Reads and validates only the header and the file length, without mapping the file.</summary>
    public static PackedHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        Span<byte> bytes = stackalloc byte[PackedHeader.Size];
        int n = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        return PackedHeader.Parse(bytes[..n], stream.Length, path);
    }

    public static PackedFile Open(string path)
    {
        var stream = OpenRead(path);
        try
        {
            Span<byte> bytes = stackalloc byte[PackedHeader.Size];
            int n = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            var header = PackedHeader.Parse(bytes[..n], stream.Length, path);
            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read,
                HandleInheritability.None, leaveOpen: false);
            var view = map.CreateViewAccessor(0, header.FileLength, MemoryMappedFileAccess.Read);
            return new PackedFile(path, header, map, view);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static FileStream OpenRead(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"packed token file '{path}' does not exist", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
    }

    /// <summary>Copies tokens <c>[start, start + dest.Length)</c> of the chunk into <paramref name="dest"/>.</summary>
    public void ReadTokens(long start, Span<int> dest)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (start < 0 || start + dest.Length > ChunkSize)
            throw new ArgumentOutOfRangeException(nameof(start),
                $"tokens [{start}, {start + dest.Length}) are outside the chunk of {ChunkSize} in '{Path}'");
        int n = dest.Length;
        byte* p = _tokens + start * Header.ItemSize();
        switch (Header.DType)
        {
            case PackedDType.UInt16:
                var u16 = new ReadOnlySpan<ushort>(p, n);
                if (BitConverter.IsLittleEndian)
                    for (int i = 0; i < n; i++) dest[i] = u16[i];
                else
                    for (int i = 0; i < n; i++) dest[i] = BinaryPrimitives.ReverseEndianness(u16[i]);
                break;
            case PackedDType.Int32:
                var i32 = new ReadOnlySpan<int>(p, n);
                if (BitConverter.IsLittleEndian)
                    i32.CopyTo(dest);
                else
                    BinaryPrimitives.ReverseEndianness(i32, dest);
                break;
            case PackedDType.UInt8:
                for (int i = 0; i < n; i++) dest[i] = p[i];
                break;
            case PackedDType.Int8:
                for (int i = 0; i < n; i++) dest[i] = (sbyte)p[i];
                break;
            case PackedDType.Int16:
                for (int i = 0; i < n; i++) dest[i] = BinaryPrimitives.ReadInt16LittleEndian(new ReadOnlySpan<byte>(p + 2 * i, 2));
                break;
            case PackedDType.Int64:
                for (int i = 0; i < n; i++)
                {
                    long v = BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(p + 8 * i, 8));
                    if (v is < int.MinValue or > int.MaxValue)
                        throw new InvalidDataException($"packed token file '{Path}': token {start + i} = {v} does not fit in int32");
                    dest[i] = (int)v;
                }
                break;
            default:
                throw new InvalidDataException($"packed token file '{Path}': unsupported dtype code {(byte)Header.DType}");
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}

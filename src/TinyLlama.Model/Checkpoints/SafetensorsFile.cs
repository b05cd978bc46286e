using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// A safetensors file opened for reading. The file is memory-mapped, so opening a multi-gigabyte checkpoint
/// costs only the header; each <see cref="Read"/> copies one tensor out of the page cache. The header is parsed
/// and validated completely by <see cref="Open"/>: after that, every entry is known to lie inside the file.
/// <code>
/// [u64 LE header length N][N bytes of UTF-8 JSON, space-padded][data section: tensors at data_offsets]
/// </code>
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The reference implementation's limit; a larger length means the file is not safetensors.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Dictionary<string, SafetensorsEntry> _entries;
    private byte* _file;

    private SafetensorsFile(string path, long fileLength, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* file,
        long headerLength, SafetensorsHeader.Parsed parsed)
    {
        Path = path;
        FileLength = fileLength;
        _map = map;
        _view = view;
        _file = file;
        HeaderLength = headerLength;
        Names = parsed.Entries.Select(e => e.Name).ToArray();
        _entries = parsed.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Metadata = parsed.Metadata;
    }

    public string Path { get; }

    public long FileLength { get; }

    /// <summary>N, the JSON header's length in bytes (padding included); the data section starts at 8 + N.</summary>
    public long HeaderLength { get; }

    /// <summary>Tensor names in the order the header lists them.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The header's <c>__metadata__</c> (string → string); empty when there is none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; this reader needs a little-endian machine");
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such safetensors file", path);
        long fileLength = info.Length;
        if (fileLength < 8)
            throw new CheckpointFormatException(path, null, $"the file is {fileLength} bytes, too short to hold the 8-byte header length: it is truncated or not a safetensors file");

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        byte* file = null;
        try
        {
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref file);
            file += view.PointerOffset;

            ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(file, 8));
            if (declared > MaxHeaderLength)
                throw new CheckpointFormatException(path, null,
                    $"header length {declared} is absurdly large (the limit is {MaxHeaderLength} bytes; the file is {fileLength} bytes): not a safetensors file, or a corrupt one");
            long headerLength = (long)declared;
            if (headerLength > fileLength - 8)
                throw new CheckpointFormatException(path, null,
                    $"header length {headerLength} exceeds the file size {fileLength} (at most {fileLength - 8} bytes can follow the length): the file is truncated in the header or corrupt");
            if (headerLength < 2 || file[8] != (byte)'{')
                throw new CheckpointFormatException(path, null, "the header does not start with '{': not a safetensors file, or a corrupt one");

            var json = new ReadOnlySpan<byte>(file + 8, (int)headerLength).ToArray();
            var parsed = SafetensorsHeader.Parse(path, json, fileLength - 8 - headerLength);
            return new SafetensorsFile(path, fileLength, map, view, file, headerLength, parsed);
        }
        catch
        {
            if (file != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The header entry of <paramref name="name"/> (a copy: changing its shape changes nothing here).</summary>
    public SafetensorsEntry GetEntry(string name)
    {
        var entry = Entry(name);
        return entry with { Shape = (int[])entry.Shape.Clone() };
    }

    private SafetensorsEntry Entry(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _entries.TryGetValue(name, out var entry)
            ? entry
            : throw new CheckpointFormatException(Path, name, $"is missing (the file holds {_entries.Count} tensors)");
    }

    /// <summary>
    /// A new contiguous CPU tensor with the stored values. Floating data reads as its own dtype (or converted to
    /// <paramref name="dtype"/>: f32, bf16, f16, f64, bf16 narrowing by round-to-nearest-even); integer data reads
    /// as i32, refusing values that do not fit.
    /// </summary>
    public Tensor Read(string name, DType? dtype = null)
    {
        var entry = Entry(name);
        var stored = SafetensorsDTypes.TensorTypeOf(entry.DTypeName)
            ?? throw new CheckpointFormatException(Path, name, $"dtype {entry.DTypeName} cannot be read into a tensor");
        if (dtype is { } wanted && wanted != stored && (stored == DType.I32) != (wanted == DType.I32))
            throw new CheckpointFormatException(Path, name, $"stored as {entry.DTypeName}, which cannot be read as {wanted.Name()}");

        byte* source = Data(entry);
        if (dtype is { } target && target != stored && TensorBytes.ConvertFloats(source, entry, stored, target) is { } direct)
            return direct;

        var tensor = Tensor.Empty(entry.Shape, stored);
        try
        {
            if (stored == DType.I32 && entry.DTypeName != "I32") TensorBytes.WidenToInt32(Path, entry, source, tensor.AsSpan<int>());
            else Buffer.MemoryCopy(source, TensorBytes.Pointer(tensor), entry.ByteLength, entry.ByteLength);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        if (dtype is null || dtype == stored) return tensor;
        using (tensor)
        using (GradMode.NoGrad())
            return tensor.To(dtype.Value);
    }

    /// <summary>Copies a tensor's stored bytes, unchanged, to <paramref name="destination"/>.</summary>
    public void CopyBytesTo(string name, Stream destination)
    {
        var entry = Entry(name);
        TensorBytes.WriteTo(destination, Data(entry), entry.ByteLength);
    }

    private byte* Data(SafetensorsEntry entry)
    {
        ObjectDisposedException.ThrowIf(_file == null, this);
        return _file + 8 + HeaderLength + entry.Begin;
    }

    public void Dispose()
    {
        if (_file == null) return;
        _file = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    public override string ToString() => $"SafetensorsFile({Path}, {Names.Count} tensors)";
}

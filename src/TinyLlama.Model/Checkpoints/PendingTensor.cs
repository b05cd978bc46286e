using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// A tensor about to be written: what the header needs up front (name, dtype, shape) and a callback that
/// produces the bytes later. Writers call it one tensor at a time, so converting or re-sharding a checkpoint
/// larger than memory only ever holds one tensor.
/// </summary>
public sealed class PendingTensor
{
    private readonly Action<Stream> _writeBytes;

    /// <param name="writeBytes">Writes exactly <see cref="ByteLength"/> bytes, little-endian, row-major.</param>
    public PendingTensor(string name, string dtypeName, int[] shape, Action<Stream> writeBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(writeBytes);
        if (!SafetensorsDTypes.IsKnown(dtypeName)) throw new ArgumentException($"tensor '{name}': unknown dtype '{dtypeName}'", nameof(dtypeName));
        if (shape.Any(d => d < 0)) throw new ArgumentException($"tensor '{name}': shape {Shapes.Format(shape)} has a negative size", nameof(shape));
        Name = name;
        DTypeName = dtypeName;
        Shape = (int[])shape.Clone();
        ByteLength = checked(Shapes.Numel(shape) * SafetensorsDTypes.SizeInBytes(dtypeName));
        _writeBytes = writeBytes;
    }

    public string Name { get; }

    public string DTypeName { get; }

    public int[] Shape { get; }

    public long ByteLength { get; }

    /// <summary>A CPU tensor of any strides; it is read when written, so it must stay alive until then.</summary>
    public static PendingTensor FromTensor(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return new PendingTensor(name, SafetensorsDTypes.NameOf(tensor.DType), tensor.ShapeArray(), stream =>
        {
            using var _ = GradMode.NoGrad();
            using var contiguous = tensor.Contiguous();
            unsafe { TensorBytes.WriteTo(stream, TensorBytes.Pointer(contiguous), TensorBytes.ByteLength(contiguous)); }
        });
    }

    /// <summary>
    /// A tensor of an open file: its bytes copied as they are, or, when <paramref name="dtype"/> differs from the
    /// stored dtype, read and converted at write time.
    /// </summary>
    public static PendingTensor FromFile(SafetensorsFile file, string name, DType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        var entry = file.GetEntry(name);
        if (dtype is null || SafetensorsDTypes.NameOf(dtype.Value) == entry.DTypeName)
            return new PendingTensor(name, entry.DTypeName, entry.Shape, stream => file.CopyBytesTo(name, stream));
        return new PendingTensor(name, SafetensorsDTypes.NameOf(dtype.Value), entry.Shape, stream =>
        {
            using var converted = file.Read(name, dtype);
            unsafe { TensorBytes.WriteTo(stream, TensorBytes.Pointer(converted), TensorBytes.ByteLength(converted)); }
        });
    }

    /// <summary>Writes the bytes and checks the callback wrote what the header promised.</summary>
    internal void WriteTo(Stream stream)
    {
        long before = stream.Position;
        _writeBytes(stream);
        long written = stream.Position - before;
        if (written != ByteLength)
            throw new InvalidOperationException($"tensor '{Name}': wrote {written} bytes, but its header entry promises {ByteLength}");
    }
}

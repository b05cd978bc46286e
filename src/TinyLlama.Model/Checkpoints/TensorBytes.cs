using TinyLlama.Kernels;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// Raw byte access to CPU tensors and to mapped memory. Safetensors data is little-endian and C-ordered, which
/// is exactly the in-memory layout of a contiguous tensor on a little-endian machine, so reading and writing
/// are plain copies. Copies go by chunks so tensors over 2 GiB never meet the int limit of spans.
/// </summary>
internal static unsafe class TensorBytes
{
    private const int Chunk = 1 << 30;

    /// <summary>The first byte of a contiguous CPU tensor.</summary>
    public static byte* Pointer(Tensor tensor)
    {
        if (!tensor.IsContiguous) throw new InvalidOperationException($"tensor {tensor.ShapeText} is not contiguous");
        if (tensor.Storage is not CpuStorage cpu)
            throw new InvalidOperationException($"tensor {tensor.ShapeText} lives on {tensor.Device}; checkpoints read and write CPU tensors");
        return (byte*)cpu.Pointer + tensor.Offset * tensor.DType.SizeInBytes();
    }

    public static long ByteLength(Tensor tensor) => tensor.Numel * tensor.DType.SizeInBytes();

    public static void WriteTo(Stream stream, byte* source, long length)
    {
        for (long done = 0; done < length; done += Chunk)
            stream.Write(new ReadOnlySpan<byte>(source + done, (int)Math.Min(Chunk, length - done)));
    }

    /// <summary>
    /// Widens a stored integer (or BOOL) tensor into i32. Values that do not fit are refused, not wrapped:
    /// a token id or index that silently changed would be far harder to find than an error.
    /// </summary>
    public static void WidenToInt32(string path, SafetensorsEntry entry, byte* source, Span<int> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            long value = entry.DTypeName switch
            {
                "I64" => ((long*)source)[i],
                "I32" => ((int*)source)[i],
                "I16" => ((short*)source)[i],
                "I8" => ((sbyte*)source)[i],
                "U64" => ((ulong*)source)[i] > long.MaxValue ? long.MaxValue : (long)((ulong*)source)[i],
                "U32" => ((uint*)source)[i],
                "U16" => ((ushort*)source)[i],
                "U8" or "BOOL" => source[i],
                _ => throw new InvalidOperationException($"{entry.DTypeName} is not an integer dtype"),
            };
            if (value is < int.MinValue or > int.MaxValue)
                throw new CheckpointFormatException(path, entry.Name,
                    $"element {i} of the {entry.DTypeName} data does not fit in i32 (value {(entry.DTypeName == "U64" ? ((ulong*)source)[i] : value)})");
            destination[i] = (int)value;
        }
    }

    /// <summary>
    /// Converts between f32 and bf16 or f16 straight from the mapped bytes with the vectorised casts: loading a
    /// bf16 checkpoint into f32 master weights is the common case, and it should not go through a managed copy.
    /// Null when the pair has no direct path (the caller then converts a tensor with <see cref="Tensor.To"/>).
    /// </summary>
    public static Tensor? ConvertFloats(byte* source, SafetensorsEntry entry, DType from, DType to)
    {
        if (entry.Numel > int.MaxValue) return null;
        int n = (int)entry.Numel;
        switch (from, to)
        {
            case (DType.BF16, DType.F32):
            {
                var result = Tensor.Empty(entry.Shape, to);
                BFloat16.ToFloat(new ReadOnlySpan<ushort>(source, n), result.AsSpan<float>());
                return result;
            }
            case (DType.F32, DType.BF16):
            {
                var result = Tensor.Empty(entry.Shape, to);
                BFloat16.FromFloat(new ReadOnlySpan<float>(source, n), result.AsSpan<ushort>());
                return result;
            }
            case (DType.F16, DType.F32):
            {
                var result = Tensor.Empty(entry.Shape, to);
                HalfCast.ToFloat(new ReadOnlySpan<Half>(source, n), result.AsSpan<float>());
                return result;
            }
            case (DType.F32, DType.F16):
            {
                var result = Tensor.Empty(entry.Shape, to);
                HalfCast.FromFloat(new ReadOnlySpan<float>(source, n), result.AsSpan<Half>());
                return result;
            }
            default:
                return null;
        }
    }
}

using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// Writes safetensors files atomically (see <see cref="AtomicFile"/>). Tensors are laid out in the order given,
/// back to back; the header lists <c>__metadata__</c> first, then the tensors in that same order, and is padded
/// with spaces to a multiple of 8 bytes as the reference implementation does, so the data section starts aligned.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes CPU tensors of dtype f32, f64, bf16, f16 or i32, of any strides.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        WritePending(path, tensors.Select(kv => PendingTensor.FromTensor(kv.Key, kv.Value)), metadata);
    }

    /// <summary>Writes tensors whose bytes are produced one at a time, at write time (conversion, re-sharding).</summary>
    public static void WritePending(string path, IEnumerable<PendingTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Commit(WriteTemporary(path, tensors, metadata), path);

    /// <summary>Writes the complete file beside <paramref name="path"/>; the caller commits it (sharded writes commit all shards together).</summary>
    internal static string WriteTemporary(string path, IEnumerable<PendingTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        // Everything the header needs is gathered before the file is created, so a failing enumeration never creates one.
        var list = tensors.ToList();
        var header = BuildHeader(list, metadata);
        return AtomicFile.WriteTemporary(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var tensor in list) tensor.WriteTo(stream);
        });
    }

    internal static byte[] BuildHeader(IReadOnlyList<PendingTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var tensor in tensors)
            {
                if (tensor.Name == SafetensorsHeader.MetadataKey)
                    throw new ArgumentException($"'{SafetensorsHeader.MetadataKey}' is reserved for metadata and cannot name a tensor");
                if (!names.Add(tensor.Name)) throw new ArgumentException($"tensor '{tensor.Name}' is given twice");
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", tensor.DTypeName);
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + tensor.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += tensor.ByteLength;
            }
            json.WriteEndObject();
        }
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}

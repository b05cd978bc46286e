using System.Text.Encodings.Web;
using System.Text.Json;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// <c>model.safetensors.index.json</c>, Hugging Face's map of a sharded checkpoint:
/// <code>{ "metadata": { "total_size": 123 }, "weight_map": { "lm_head.weight": "model-00002-of-00002.safetensors", ... } }</code>
/// total_size is the sum of the tensors' bytes; it is written but not checked on reading, since tools disagree on it.
/// </summary>
internal sealed record CheckpointIndex(IReadOnlyList<KeyValuePair<string, string>> WeightMap, long? TotalSize)
{
    public static CheckpointIndex Read(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, null, $"not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(path, null, "has no \"weight_map\" object");
            var entries = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in map.EnumerateObject())
            {
                if (item.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointFormatException(path, item.Name, $"weight_map value must be a shard file name, found {item.Value.ValueKind}");
                string shard = item.Value.GetString()!;
                // A shard is a file beside the index; a path could read anything on the machine.
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or "..")
                    throw new CheckpointFormatException(path, item.Name, $"weight_map names shard '{shard}', which is not a plain file name in the checkpoint folder");
                if (!seen.Add(item.Name))
                    throw new CheckpointFormatException(path, item.Name, "appears twice in the weight_map");
                entries.Add(new(item.Name, shard));
            }
            long? totalSize = root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("total_size", out var total) && total.TryGetInt64(out long size) ? size : null;
            return new CheckpointIndex(entries, totalSize);
        }
    }

    /// <summary>Indented like the files transformers writes, weight_map in the order given.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            if (TotalSize is { } total) json.WriteNumber("total_size", total);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (tensor, shard) in WeightMap) json.WriteString(tensor, shard);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}

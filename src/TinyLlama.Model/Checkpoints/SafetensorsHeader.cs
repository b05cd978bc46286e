using System.Text.Json;
using System.Text.Unicode;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// Parses and validates a safetensors header completely before any tensor is read, so a bad file fails at
/// Open with a precise message rather than later with garbage weights. The rules are the reference
/// implementation's, except that gaps between tensors and bytes after the last one are tolerated: they are
/// harmless to a reader, and refusing them would only reject files that other tools might write.
/// </summary>
internal static class SafetensorsHeader
{
    public const string MetadataKey = "__metadata__";

    public sealed record Parsed(List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata);

    /// <param name="path">The file, for messages.</param>
    /// <param name="json">The header bytes (UTF-8 JSON, maybe padded with spaces).</param>
    /// <param name="dataLength">Bytes in the data section, which every tensor must lie within.</param>
    public static Parsed Parse(string path, byte[] json, long dataLength)
    {
        // JsonDocument checks the structure but decodes strings lazily: check the encoding up front, once.
        if (!Utf8.IsValid(json))
            throw new CheckpointFormatException(path, null, "the header is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, null, $"the header is not valid UTF-8 JSON ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(path, null, $"the header must be a JSON object, found {root.ValueKind}");

            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new CheckpointFormatException(path, property.Name, "appears twice in the header");
                if (property.Name == MetadataKey) ReadMetadata(path, property.Value, metadata);
                else entries.Add(ReadEntry(path, property.Name, property.Value, dataLength));
            }
            CheckNoOverlap(path, entries);
            return new Parsed(entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(path, null, $"{MetadataKey} must be an object of strings, found {value.ValueKind}");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointFormatException(path, null, $"{MetadataKey} entry '{item.Name}' must be a string, found {item.Value.ValueKind}");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ReadEntry(string path, string name, JsonElement value, long dataLength)
    {
        CheckpointFormatException Bad(string problem) => new(path, name, problem);

        if (value.ValueKind != JsonValueKind.Object)
            throw Bad($"expected an object with dtype, shape and data_offsets, found {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad("has no \"dtype\" string");
        string dtype = dtypeElement.GetString()!;
        if (!SafetensorsDTypes.IsKnown(dtype))
            throw Bad($"unknown dtype '{dtype}' (known: {string.Join(", ", SafetensorsDTypes.Known)})");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Bad("has no \"shape\" array");
        var shape = new int[shapeElement.GetArrayLength()];
        int axis = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size))
                throw Bad($"shape {shapeElement.GetRawText()} holds a dimension that is not an integer");
            if (size < 0) throw Bad($"shape {shapeElement.GetRawText()} has a negative dimension");
            if (size > int.MaxValue) throw Bad($"shape {shapeElement.GetRawText()} has a dimension above {int.MaxValue}");
            shape[axis++] = (int)size;
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw Bad("has no \"data_offsets\" pair [begin, end]");
        string offsetsText = offsets.GetRawText();
        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < 0)
            throw Bad($"data_offsets {offsetsText} must be two non-negative integers");
        if (begin > end)
            throw Bad($"data_offsets [{begin}, {end}] are reversed (begin after end)");
        if (end > dataLength)
            throw Bad($"data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes): the file is truncated or the offsets are wrong");

        long expectedBytes;
        try
        {
            long numel = 1;
            foreach (int d in shape) numel = checked(numel * d);
            expectedBytes = checked(numel * SafetensorsDTypes.SizeInBytes(dtype));
        }
        catch (OverflowException)
        {
            throw Bad($"shape {Shapes.Format(shape)} is too large to address");
        }
        if (end - begin != expectedBytes)
            throw Bad($"data_offsets [{begin}, {end}] hold {end - begin} bytes, but shape {Shapes.Format(shape)} of {dtype} needs {expectedBytes} bytes");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    /// <summary>Sorted by start, each non-empty tensor must begin at or after the furthest end seen so far.</summary>
    private static void CheckNoOverlap(string path, List<SafetensorsEntry> entries)
    {
        var sorted = entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        SafetensorsEntry? furthest = null;
        foreach (var entry in sorted)
        {
            if (furthest is not null && entry.Begin < furthest.End)
            {
                long overlapEnd = Math.Min(furthest.End, entry.End);
                throw new CheckpointFormatException(path, null,
                    $"tensors '{furthest.Name}' and '{entry.Name}' overlap in bytes [{entry.Begin}, {overlapEnd}) of the data section");
            }
            if (furthest is null || entry.End > furthest.End) furthest = entry;
        }
    }
}

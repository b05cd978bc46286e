using System.Text.Json;

namespace TinyLlama.Data.Packed;

/// <summary>
/// Reads the documents of text inputs for <see cref="PackedPrepare"/>: a <c>.jsonl</c> file holds one document
/// per line in its <c>"text"</c> field (SlimPajama's layout, decompressed); any other file is one document.
/// </summary>
public static class DocumentReader
{
    public static IEnumerable<string> Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"input file '{path}' does not exist", path);
        if (path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"input file '{path}' is compressed; decompress it first (e.g. zstd -d)");
        return path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? ReadJsonLines(path) : [File.ReadAllText(path)];
    }

    private static IEnumerable<string> ReadJsonLines(string path)
    {
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? text;
            try
            {
                using var doc = JsonDocument.Parse(line);
                text = doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                    ? t.GetString() : null;
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"'{path}' line {lineNumber}: not valid JSON ({e.Message})", e);
            }
            if (text is null)
                throw new InvalidDataException($"'{path}' line {lineNumber}: expected an object with a string field \"text\"");
            yield return text;
        }
    }
}

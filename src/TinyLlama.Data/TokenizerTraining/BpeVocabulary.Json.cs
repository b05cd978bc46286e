using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TinyLlama.Data.TokenizerTraining;

/// <summary>
/// Hugging Face <c>tokenizer.json</c> output, field for field as Llama-2's (meta-llama/Llama-2-7b-hf), so any
/// loader of that file (HF tokenizers, transformers, our own Tokenizer) reads ours the same way.
/// </summary>
public sealed partial class BpeVocabulary
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // Keep '▁' and other non-ASCII pieces readable instead of \uXXXX; control characters are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToTokenizerJson() => Encoding.UTF8.GetString(ToTokenizerJsonBytes());

    /// <summary>Writes tokenizer.json through a temporary file in the same folder, then renames it over
    /// <paramref name="path"/>, so a crash never leaves a half-written file where a good one was.</summary>
    public void WriteTokenizerJson(string path)
    {
        string full = Path.GetFullPath(path);
        string temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            File.WriteAllBytes(temp, ToTokenizerJsonBytes());
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }

    private byte[] ToTokenizerJsonBytes()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            WriteAddedTokens(json);
            WriteNormalizer(json);
            json.WriteNull("pre_tokenizer");
            WritePostProcessor(json);
            WriteDecoder(json);
            WriteModel(json);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static void WriteAddedTokens(Utf8JsonWriter json)
    {
        json.WriteStartArray("added_tokens");
        string[] specials = [Unknown, BeginOfSequence, EndOfSequence];
        for (int id = 0; id < specials.Length; id++)
        {
            json.WriteStartObject();
            json.WriteNumber("id", id);
            json.WriteString("content", specials[id]);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", true);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    // Prepend '▁' to the text, then every space becomes '▁' (what TrainingWords.Normalize does).
    private static void WriteNormalizer(Utf8JsonWriter json)
    {
        json.WriteStartObject("normalizer");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("normalizers");
        json.WriteStartObject();
        json.WriteString("type", "Prepend");
        json.WriteString("prepend", "\u2581");
        json.WriteEndObject();
        WriteReplace(json, " ", "\u2581");
        json.WriteEndArray();
        json.WriteEndObject();
    }

    // Llama-2 adds <s> in front of every sequence and no </s>.
    private static void WritePostProcessor(Utf8JsonWriter json)
    {
        json.WriteStartObject("post_processor");
        json.WriteString("type", "TemplateProcessing");
        json.WriteStartArray("single");
        WriteTemplatePiece(json, "SpecialToken", BeginOfSequence, 0);
        WriteTemplatePiece(json, "Sequence", "A", 0);
        json.WriteEndArray();
        json.WriteStartArray("pair");
        WriteTemplatePiece(json, "SpecialToken", BeginOfSequence, 0);
        WriteTemplatePiece(json, "Sequence", "A", 0);
        WriteTemplatePiece(json, "SpecialToken", BeginOfSequence, 1);
        WriteTemplatePiece(json, "Sequence", "B", 1);
        json.WriteEndArray();
        json.WriteStartObject("special_tokens");
        json.WriteStartObject(BeginOfSequence);
        json.WriteString("id", BeginOfSequence);
        json.WriteStartArray("ids");
        json.WriteNumberValue(1);
        json.WriteEndArray();
        json.WriteStartArray("tokens");
        json.WriteStringValue(BeginOfSequence);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteTemplatePiece(Utf8JsonWriter json, string kind, string id, int typeId)
    {
        json.WriteStartObject();
        json.WriteStartObject(kind);
        json.WriteString("id", id);
        json.WriteNumber("type_id", typeId);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    // '▁' back to ' ', <0xNN> runs back to UTF-8 text, then drop the one leading space the normalizer added.
    private static void WriteDecoder(Utf8JsonWriter json)
    {
        json.WriteStartObject("decoder");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("decoders");
        WriteReplace(json, "\u2581", " ");
        WriteTypeOnly(json, "ByteFallback");
        WriteTypeOnly(json, "Fuse");
        json.WriteStartObject();
        json.WriteString("type", "Strip");
        json.WriteString("content", " ");
        json.WriteNumber("start", 1);
        json.WriteNumber("stop", 0);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private void WriteModel(Utf8JsonWriter json)
    {
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteString("unk_token", Unknown);
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", true);
        json.WriteBoolean("byte_fallback", true);
        json.WriteStartObject("vocab");
        for (int id = 0; id < Pieces.Count; id++)
            json.WriteNumber(Pieces[id], id);
        json.WriteEndObject();
        // "left right" strings, as Llama-2's file: pieces never contain ' ' (the normalizer turned it into '▁').
        json.WriteStartArray("merges");
        foreach (var (left, right) in Merges)
            json.WriteStringValue(left + " " + right);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteReplace(Utf8JsonWriter json, string from, string to)
    {
        json.WriteStartObject();
        json.WriteString("type", "Replace");
        json.WriteStartObject("pattern");
        json.WriteString("String", from);
        json.WriteEndObject();
        json.WriteString("content", to);
        json.WriteEndObject();
    }

    private static void WriteTypeOnly(Utf8JsonWriter json, string type)
    {
        json.WriteStartObject();
        json.WriteString("type", type);
        json.WriteEndObject();
    }
}

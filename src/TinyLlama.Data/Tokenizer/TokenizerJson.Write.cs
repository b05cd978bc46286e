using System.Text.Encodings.Web;
using System.Text.Json;

namespace TinyLlama.Data.Tokenizer;

// Writes the layout of Llama-2's own tokenizer.json, so Hugging Face's tokenizers library loads what a trainer
// produces here and gives the same ids.
internal static partial class TokenizerJson
{
    public static void Write(LlamaTokenizer tokenizer, string path)
    {
        if (tokenizer.Settings.RemoveExtraWhitespaces)
            throw new InvalidOperationException("remove_extra_whitespaces has no tokenizer.json equivalent; this tokenizer cannot be saved as one");
        // Write beside the target, then rename: an existing tokenizer.json is never left half-written.
        string temporary = path + ".tmp";
        using (var stream = File.Create(temporary))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            WriteAddedTokens(tokenizer, json);
            WriteNormalizer(tokenizer, json);
            json.WriteNull("pre_tokenizer");
            WritePostProcessor(tokenizer, json);
            WriteDecoder(tokenizer, json);
            WriteModel(tokenizer, json);
            json.WriteEndObject();
        }
        File.Move(temporary, path, overwrite: true);
    }

    static void WriteAddedTokens(LlamaTokenizer tokenizer, Utf8JsonWriter json)
    {
        json.WriteStartArray("added_tokens");
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            var kind = tokenizer.KindOf(id);
            if (kind is not (PieceKind.Control or PieceKind.Unknown or PieceKind.UserDefined)) continue;
            json.WriteStartObject();
            json.WriteNumber("id", id);
            json.WriteString("content", tokenizer.IdToPiece(id));
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", kind == PieceKind.UserDefined);
            json.WriteBoolean("special", kind != PieceKind.UserDefined);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void WriteNormalizer(LlamaTokenizer tokenizer, Utf8JsonWriter json)
    {
        json.WriteStartObject("normalizer");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("normalizers");
        if (tokenizer.Settings.AddDummyPrefix)
        {
            json.WriteStartObject();
            json.WriteString("type", "Prepend");
            json.WriteString("prepend", "\u2581");
            json.WriteEndObject();
        }
        WriteReplace(json, " ", "\u2581");
        json.WriteEndArray();
        json.WriteEndObject();
    }

    static void WritePostProcessor(LlamaTokenizer tokenizer, Utf8JsonWriter json)
    {
        if (tokenizer.BosId < 0)
        {
            json.WriteNull("post_processor");
            return;
        }
        string bos = tokenizer.IdToPiece(tokenizer.BosId);
        json.WriteStartObject("post_processor");
        json.WriteString("type", "TemplateProcessing");
        json.WriteStartArray("single");
        WriteTemplateItem(json, "SpecialToken", bos, 0);
        WriteTemplateItem(json, "Sequence", "A", 0);
        json.WriteEndArray();
        json.WriteStartArray("pair");
        WriteTemplateItem(json, "SpecialToken", bos, 0);
        WriteTemplateItem(json, "Sequence", "A", 0);
        WriteTemplateItem(json, "SpecialToken", bos, 1);
        WriteTemplateItem(json, "Sequence", "B", 1);
        json.WriteEndArray();
        json.WriteStartObject("special_tokens");
        json.WriteStartObject(bos);
        json.WriteString("id", bos);
        json.WriteStartArray("ids");
        json.WriteNumberValue(tokenizer.BosId);
        json.WriteEndArray();
        json.WriteStartArray("tokens");
        json.WriteStringValue(bos);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    static void WriteTemplateItem(Utf8JsonWriter json, string kind, string id, int typeId)
    {
        json.WriteStartObject();
        json.WriteStartObject(kind);
        json.WriteString("id", id);
        json.WriteNumber("type_id", typeId);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    static void WriteDecoder(LlamaTokenizer tokenizer, Utf8JsonWriter json)
    {
        json.WriteStartObject("decoder");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("decoders");
        WriteReplace(json, "\u2581", " ");
        json.WriteStartObject();
        json.WriteString("type", "ByteFallback");
        json.WriteEndObject();
        json.WriteStartObject();
        json.WriteString("type", "Fuse");
        json.WriteEndObject();
        if (tokenizer.Settings.AddDummyPrefix)
        {
            json.WriteStartObject();
            json.WriteString("type", "Strip");
            json.WriteString("content", " ");
            json.WriteNumber("start", 1);
            json.WriteNumber("stop", 0);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    static void WriteReplace(Utf8JsonWriter json, string from, string to)
    {
        json.WriteStartObject();
        json.WriteString("type", "Replace");
        json.WriteStartObject("pattern");
        json.WriteString("String", from);
        json.WriteEndObject();
        json.WriteString("content", to);
        json.WriteEndObject();
    }

    static void WriteModel(LlamaTokenizer tokenizer, Utf8JsonWriter json)
    {
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        if (tokenizer.UnkId >= 0) json.WriteString("unk_token", tokenizer.IdToPiece(tokenizer.UnkId));
        else json.WriteNull("unk_token");
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", true);
        json.WriteBoolean("byte_fallback", tokenizer.Settings.ByteFallback);
        json.WriteStartObject("vocab");
        for (int id = 0; id < tokenizer.VocabSize; id++) json.WriteNumber(tokenizer.IdToPiece(id), id);
        json.WriteEndObject();
        // "left right" strings are what every tokenizers version reads; pieces with a space need the array form.
        var merges = tokenizer.Merges.Select(m => (tokenizer.IdToPiece(m.Left), tokenizer.IdToPiece(m.Right))).ToList();
        bool asArrays = merges.Any(m => m.Item1.Contains(' ') || m.Item2.Contains(' '));
        json.WriteStartArray("merges");
        foreach (var (left, right) in merges)
        {
            if (asArrays)
            {
                json.WriteStartArray();
                json.WriteStringValue(left);
                json.WriteStringValue(right);
                json.WriteEndArray();
            }
            else
            {
                json.WriteStringValue(left + " " + right);
            }
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}

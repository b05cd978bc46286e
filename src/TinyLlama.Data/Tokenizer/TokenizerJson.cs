using System.Text.Json;

namespace TinyLlama.Data.Tokenizer;

/// <summary>
/// Reads Hugging Face's <c>tokenizer.json</c> for a SentencePiece-style BPE model (Llama-2's layout): a BPE model
/// with byte fallback, spaces turned into '▁' by the normalizer (or a non-splitting Metaspace pre-tokenizer), and
/// special tokens in <c>added_tokens</c>. Anything that would change the ids in a way this tokenizer does not
/// implement is refused with the field named, rather than silently tokenized differently.
/// </summary>
internal static partial class TokenizerJson
{
    public static LlamaTokenizer Read(byte[] bytes, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw TokenizerFormatException.In(source, $"not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            try
            {
                return Read(document.RootElement, source);
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException)
            {
                // A field of the wrong JSON type (a number where a string belongs, ...).
                throw TokenizerFormatException.In(source, $"unexpected tokenizer.json content ({e.Message})", e);
            }
        }
    }

    static LlamaTokenizer Read(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw TokenizerFormatException.In(source, "expected a JSON object at the top");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw TokenizerFormatException.In(source, "no 'model' object");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (type != "BPE")
            throw TokenizerFormatException.In(source, $"model.type is '{type}', only 'BPE' (SentencePiece BPE, as Llama-2) is supported");
        foreach (string field in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (model.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() != "")
                throw TokenizerFormatException.In(source, $"model.{field} is set; SentencePiece BPE has none");
        }
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw TokenizerFormatException.In(source, "model.dropout is set; BPE dropout is not deterministic and is not supported");

        bool byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        string? unkToken = model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String ? unk.GetString() : null;

        var pieces = ReadVocabulary(model, root, source);
        var kinds = new PieceKind[pieces.Length];
        for (int id = 0; id < pieces.Length; id++)
        {
            kinds[id] = byteFallback && LlamaTokenizer.TryParseBytePiece(pieces[id], out _) ? PieceKind.Byte : PieceKind.Normal;
        }
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                int id = token.GetProperty("id").GetInt32();
                bool special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                kinds[id] = token.GetProperty("content").GetString() == unkToken ? PieceKind.Unknown
                    : special ? PieceKind.Control : PieceKind.UserDefined;
            }
        }
        if (unkToken is not null && Array.IndexOf(pieces, unkToken) is int unkId and >= 0) kinds[unkId] = PieceKind.Unknown;

        var settings = ReadSettings(root, source) with { ByteFallback = byteFallback };
        var ids = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++) ids.TryAdd(pieces[id], id);
        var merges = LlamaTokenizer.MergeRulesFromPairs(ReadMerges(model, source), ids, source);
        return new LlamaTokenizer(pieces, kinds, merges, settings, source);
    }

    // model.vocab maps piece → id; added_tokens may add ids past it. Ids must cover 0..n-1 with no gap.
    static string[] ReadVocabulary(JsonElement model, JsonElement root, string source)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw TokenizerFormatException.In(source, "model.vocab is missing or not an object of piece → id");
        var byId = new Dictionary<int, string>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw TokenizerFormatException.In(source, $"model.vocab['{entry.Name}'] is not a non-negative integer id");
            if (!byId.TryAdd(id, entry.Name))
                throw TokenizerFormatException.In(source, $"model.vocab gives id {id} to both '{byId[id]}' and '{entry.Name}'");
        }
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                int id = token.GetProperty("id").GetInt32();
                string content = token.GetProperty("content").GetString() ?? "";
                if (byId.TryGetValue(id, out var existing) && existing != content)
                    throw TokenizerFormatException.In(source, $"added_tokens gives id {id} to '{content}' but model.vocab has '{existing}'");
                byId[id] = content;
            }
        }
        var pieces = new string[byId.Count];
        foreach (var (id, piece) in byId)
        {
            if (id >= pieces.Length)
                throw TokenizerFormatException.In(source, $"ids are not 0..{pieces.Length - 1}: '{piece}' has id {id}");
            pieces[id] = piece;
        }
        return pieces;
    }

    // Merges are "left right" strings (older files) or [left, right] arrays (tokenizers ≥ 0.20); their order is their priority.
    static List<(string, string)> ReadMerges(JsonElement model, string source)
    {
        var merges = new List<(string, string)>();
        if (!model.TryGetProperty("merges", out var array)) return merges;
        if (array.ValueKind != JsonValueKind.Array) throw TokenizerFormatException.In(source, "model.merges is not an array");
        foreach (var merge in array.EnumerateArray())
        {
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                var parts = text.Split(' ');
                if (parts.Length != 2)
                    throw TokenizerFormatException.In(source, $"model.merges[{merges.Count}] is '{text}', expected two pieces separated by one space");
                merges.Add((parts[0], parts[1]));
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                merges.Add((merge[0].GetString()!, merge[1].GetString()!));
            }
            else
            {
                throw TokenizerFormatException.In(source, $"model.merges[{merges.Count}] is neither \"left right\" nor [\"left\", \"right\"]");
            }
        }
        return merges;
    }

    // Llama-2: normalizer Sequence[Prepend '▁', Replace ' ' → '▁'], no pre-tokenizer. Newer conversions use a
    // Metaspace pre-tokenizer that does the same without splitting. Both mean: spaces become '▁', '▁' goes in front.
    static TokenizerSettings ReadSettings(JsonElement root, string source)
    {
        bool prefix = false, spacesEscaped = false;
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object)
        {
            var steps = normalizer.GetProperty("type").GetString() == "Sequence"
                ? normalizer.GetProperty("normalizers").EnumerateArray().ToList()
                : [normalizer];
            foreach (var step in steps)
            {
                string type = step.GetProperty("type").GetString() ?? "";
                if (type == "Prepend" && step.GetProperty("prepend").GetString() == "\u2581")
                    prefix = true;
                else if (type == "Replace" && step.GetProperty("pattern").TryGetProperty("String", out var from)
                         && from.GetString() == " " && step.GetProperty("content").GetString() == "\u2581")
                    spacesEscaped = true;
                else
                    throw TokenizerFormatException.In(source, $"normalizer step '{type}' is not supported (Llama-2 uses Prepend '▁' and Replace ' ' → '▁')");
            }
        }
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
        {
            string type = pre.GetProperty("type").GetString() ?? "";
            bool splits = !pre.TryGetProperty("split", out var split) || split.ValueKind != JsonValueKind.False;
            if (type != "Metaspace" || splits || pre.GetProperty("replacement").GetString() != "\u2581")
                throw TokenizerFormatException.In(source, $"pre_tokenizer '{type}' is not supported (only a Metaspace with replacement '▁' and split false)");
            spacesEscaped = true;
            string scheme = pre.TryGetProperty("prepend_scheme", out var s) ? s.GetString() ?? "always" : "always";
            prefix = pre.TryGetProperty("add_prefix_space", out var add) ? add.ValueKind == JsonValueKind.True : scheme != "never";
        }
        if (!spacesEscaped)
            throw TokenizerFormatException.In(source, "no normalizer or pre_tokenizer turns spaces into '▁'; this is not a SentencePiece-style tokenizer");
        return new TokenizerSettings(AddDummyPrefix: prefix);
    }
}

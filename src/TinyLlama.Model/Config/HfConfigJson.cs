using System.Text.Json;
using System.Text.Json.Nodes;

namespace TinyLlama.Model;

/// <summary>
/// Reads and writes Hugging Face <c>config.json</c> for <c>LlamaForCausalLM</c>. Reading is strict about what
/// would silently change the model (an activation other than SiLU, RoPE scaling, attention biases) and names the
/// file and field in every error.
/// </summary>
public static class HfConfigJson
{
    public static LlamaConfig Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file (expected a Hugging Face config.json)", path);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e);
        }
        return Parse(root, path);
    }

    public static LlamaConfig Parse(JsonObject root, string source)
    {
        int Int(string field, int? fallback = null)
        {
            var node = root[field];
            if (node is null)
                return fallback ?? throw new InvalidDataException($"{source}: field '{field}' is missing");
            try { return node.GetValue<int>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{source}: field '{field}' = {node.ToJsonString()}; expected an integer");
            }
        }

        double Double(string field, double fallback)
        {
            var node = root[field];
            if (node is null) return fallback;
            try { return node.GetValue<double>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{source}: field '{field}' = {node.ToJsonString()}; expected a number");
            }
        }

        string? modelType = root["model_type"]?.GetValue<string>();
        if (modelType is not null && modelType != "llama")
            throw new InvalidDataException($"{source}: model_type = '{modelType}'; expected 'llama'");
        string act = root["hidden_act"]?.GetValue<string>() ?? "silu";
        if (act != "silu")
            throw new InvalidDataException($"{source}: hidden_act = '{act}'; only 'silu' (SwiGLU) is supported");
        if (root["rope_scaling"] is JsonNode scaling)
            throw new InvalidDataException($"{source}: rope_scaling = {scaling.ToJsonString()}; RoPE scaling is not supported (expected null)");
        if (root["attention_bias"]?.GetValue<bool>() == true || root["mlp_bias"]?.GetValue<bool>() == true)
            throw new InvalidDataException($"{source}: attention_bias/mlp_bias = true; Llama-2 has no biases and none are supported");

        int heads = Int("num_attention_heads");
        var config = new LlamaConfig
        {
            VocabSize = Int("vocab_size"),
            HiddenSize = Int("hidden_size"),
            IntermediateSize = Int("intermediate_size"),
            NumLayers = Int("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = Int("num_key_value_heads", heads),
            MaxSeqLen = Int("max_position_embeddings"),
            RmsNormEps = Double("rms_norm_eps", 1e-6),
            RopeTheta = Double("rope_theta", 10000.0),
            TieWordEmbeddings = root["tie_word_embeddings"]?.GetValue<bool>() ?? false,
            BosTokenId = Int("bos_token_id", 1),
            EosTokenId = Int("eos_token_id", 2),
        };
        try { return config.Validate(source); }
        catch (ArgumentException e) { throw new InvalidDataException(e.Message, e); }
    }

    /// <summary>The config.json text, with the fields transformers' LlamaConfig writes.</summary>
    public static string ToJson(LlamaConfig config, string torchDtype = "float32")
    {
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = config.BosTokenId,
            ["eos_token_id"] = config.EosTokenId,
            ["hidden_act"] = "silu",
            ["hidden_size"] = config.HiddenSize,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = config.IntermediateSize,
            ["max_position_embeddings"] = config.MaxSeqLen,
            ["num_attention_heads"] = config.NumHeads,
            ["num_hidden_layers"] = config.NumLayers,
            ["num_key_value_heads"] = config.NumKvHeads,
            ["pretraining_tp"] = 1,
            ["rms_norm_eps"] = config.RmsNormEps,
            ["rope_scaling"] = null,
            ["rope_theta"] = config.RopeTheta,
            ["tie_word_embeddings"] = config.TieWordEmbeddings,
            ["torch_dtype"] = torchDtype,
            ["use_cache"] = true,
            ["vocab_size"] = config.VocabSize,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Writes config.json into <paramref name="folder"/> atomically (temporary file, then rename).</summary>
    public static void Save(LlamaConfig config, string folder, string torchDtype = "float32")
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "config.json");
        string tmp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(ToJson(config, torchDtype));
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}

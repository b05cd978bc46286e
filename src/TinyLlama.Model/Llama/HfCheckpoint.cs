using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;

namespace TinyLlama.Model;

/// <summary>
/// A Llama model as a Hugging Face folder: <c>config.json</c> plus <c>model.safetensors</c> (or shards with an
/// index). TinyLlama's published checkpoints load as they are: HF names, rotate-half RoPE, no q/k permutation.
/// </summary>
public static class HfCheckpoint
{
    /// <summary>Files of a tokenizer that travel with a checkpoint folder.</summary>
    public static readonly string[] TokenizerFiles =
        ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

    /// <summary>
    /// Reads config.json, builds the model and loads every parameter (converted to f32). A missing tensor or a
    /// shape that does not fit the config is an error naming the file and the tensor.
    /// </summary>
    public static LlamaForCausalLM Load(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{folder}: no such folder (expected a Hugging Face model folder with config.json and model.safetensors)");
        var config = HfConfigJson.Load(Path.Combine(folder, "config.json"));
        var model = new LlamaForCausalLM(config);
        try
        {
            using var reader = CheckpointReader.Open(folder);
            using var noGrad = GradMode.NoGrad();
            foreach (var (name, parameter) in model.NamedParameters())
            {
                using var value = reader.ReadExpected(name, parameter.ShapeArray(), parameter.DType);
                value.AsSpan<float>().CopyTo(parameter.AsSpan<float>());
            }
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes config.json and the weights (f32 or bf16) into <paramref name="folder"/>, each file atomically, and
    /// copies the tokenizer file if one is given.
    /// </summary>
    public static void Save(LlamaForCausalLM model, string folder, DType dtype = DType.F32, string? tokenizerPath = null)
    {
        if (dtype is not (DType.F32 or DType.BF16 or DType.F16))
            throw new ArgumentException($"save: dtype {dtype.Name()} is not a checkpoint precision; expected f32, bf16 or f16");
        Directory.CreateDirectory(folder);
        using (var scope = new TensorScope())
        {
            var tensors = model.NamedParameters()
                .Select(p => KeyValuePair.Create(p.Name, dtype == p.Parameter.DType ? p.Parameter : p.Parameter.To(dtype)));
            CheckpointReader.Write(folder, tensors);
        }
        HfConfigJson.Save(model.Config, folder, dtype switch { DType.BF16 => "bfloat16", DType.F16 => "float16", _ => "float32" });
        if (tokenizerPath is not null)
        {
            string target = Path.Combine(folder, Path.GetFileName(tokenizerPath));
            if (Path.GetFullPath(target) != Path.GetFullPath(tokenizerPath)) File.Copy(tokenizerPath, target, overwrite: true);
        }
    }
}

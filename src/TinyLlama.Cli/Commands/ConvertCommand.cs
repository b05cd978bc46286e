using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>convert</c>: rewrites a Hugging Face checkpoint folder in another precision (f32 for training from a
/// published bf16 checkpoint, bf16 to publish or to halve the download). Tensors stream one at a time from
/// the memory-mapped input, so a checkpoint larger than memory converts too. The sharding layout is kept: one
/// file stays one file, shards stay the same shards with the same tensors in each.
/// </summary>
internal static class ConvertCommand
{
    /// <summary>Files beside the weights that a HF folder needs to be usable; copied when present.</summary>
    private static readonly string[] CompanionFiles =
        ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Checkpoint folder to read: model.safetensors, or model.safetensors.index.json and its shards.",
            Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "Folder to write the converted checkpoint to (created if needed); never the input folder.",
            Required = true,
        };
        var dtype = new Option<string>("--dtype")
        {
            Description = "Precision of the floating-point tensors in the output; integer tensors are copied unchanged.",
            Required = true,
        };
        dtype.AcceptOnlyFromAmong("f32", "bf16");
        var force = new Option<bool>("--force")
        {
            Description = "Replace a checkpoint already in the output folder.",
        };

        var command = new Command("convert", "Convert a Hugging Face safetensors checkpoint folder between f32 and bf16.")
        {
            model, output, dtype, force,
        };
        command.SetAction(parseResult =>
        {
            var target = parseResult.GetValue(dtype) == "bf16" ? DType.BF16 : DType.F32;
            return Run(parseResult.GetValue(model)!, parseResult.GetValue(output)!, target, parseResult.GetValue(force),
                parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error);
        });
        return command;
    }

    internal static int Run(string modelFolder, string outFolder, DType dtype, bool force, TextWriter output, TextWriter error)
    {
        try
        {
            if (Refusal(modelFolder, outFolder, force) is { } refusal)
            {
                error.WriteLine($"error: {refusal}");
                return 1;
            }
            using var reader = CheckpointReader.Open(modelFolder);
            int converted = 0;
            var shards = reader.Files.Select(file => (IReadOnlyList<PendingTensor>)reader.Names
                .Where(name => ReferenceEquals(reader.FileOf(name), file))
                .Select(name =>
                {
                    string stored = file.GetEntry(name).DTypeName;
                    bool convert = SafetensorsDTypes.IsFloating(stored) && stored != SafetensorsDTypes.NameOf(dtype);
                    if (convert) converted++;
                    return PendingTensor.FromFile(file, name, convert ? dtype : null);
                })
                .ToList()).ToList();

            CheckpointWriter.WriteShards(outFolder, shards);
            var copied = CopyCompanionFiles(modelFolder, outFolder, dtype);

            output.WriteLine($"converted {modelFolder} to {dtype.Name()} in {outFolder}: {reader.Names.Count} tensors, " +
                $"{converted} converted, {reader.Names.Count - converted} copied as stored, in {Math.Max(1, shards.Count)} file(s)" +
                (reader.IsSharded ? $" with {CheckpointReader.IndexFileName}" : ""));
            if (copied.Count > 0) output.WriteLine($"copied {string.Join(", ", copied)}");
            return 0;
        }
        catch (Exception e) when (e is CheckpointFormatException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Why the output folder must not be written, or null when it may.</summary>
    private static string? Refusal(string modelFolder, string outFolder, bool force)
    {
        static string Full(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        // The input is memory-mapped while the output is written: rewriting it in place would read half-replaced files.
        if (Full(modelFolder) == Full(outFolder))
            return $"--out {outFolder} is the input folder; convert writes a new folder and never rewrites its input";
        if (File.Exists(outFolder))
            return $"--out {outFolder} is a file, not a folder";
        foreach (string name in new[] { CheckpointReader.SingleFileName, CheckpointReader.IndexFileName })
            if (!force && File.Exists(Path.Combine(outFolder, name)))
                return $"{outFolder} already holds a checkpoint ({name}); pass --force to replace it";
        return null;
    }

    private static List<string> CopyCompanionFiles(string modelFolder, string outFolder, DType dtype)
    {
        var copied = new List<string>();
        string config = Path.Combine(modelFolder, "config.json");
        if (File.Exists(config))
        {
            File.WriteAllText(Path.Combine(outFolder, "config.json"), WithDType(config, dtype));
            copied.Add("config.json");
        }
        foreach (string name in CompanionFiles)
        {
            string source = Path.Combine(modelFolder, name);
            if (!File.Exists(source)) continue;
            File.Copy(source, Path.Combine(outFolder, name), overwrite: true);
            copied.Add(name);
        }
        return copied;
    }

    /// <summary>config.json with its dtype field (torch_dtype, or dtype in newer transformers) set to the new precision.</summary>
    private static string WithDType(string configPath, DType dtype)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(configPath), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new IOException($"{configPath}: not valid JSON ({e.Message})", e);
        }
        if (root is not JsonObject config) throw new IOException($"{configPath}: expected a JSON object");
        string torchName = dtype == DType.BF16 ? "bfloat16" : "float32";
        foreach (string key in new[] { "torch_dtype", "dtype" })
            if (config.ContainsKey(key)) config[key] = torchName;
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        return config.ToJsonString(options) + "\n";
    }
}

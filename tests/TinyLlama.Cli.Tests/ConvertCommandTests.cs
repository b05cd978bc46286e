using System.Text.Json;
using TinyLlama.Kernels;
using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;

namespace TinyLlama.Cli.Tests;

/// <summary><c>convert</c> end to end on tiny generated checkpoint folders.</summary>
public sealed class ConvertCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "tinyllama-convert-" + Guid.NewGuid().ToString("N"));
    private readonly List<Tensor> _tensors = [];

    public ConvertCommandTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private string Folder(string name) => Path.Combine(_root, name);

    /// <summary>Llama-named weights in <paramref name="dtype"/> plus one i32 tensor, with a config and tokenizer files.</summary>
    private (string Folder, List<KeyValuePair<string, Tensor>> Weights) MakeCheckpoint(DType dtype, long maxShardBytes = CheckpointWriter.DefaultMaxShardBytes)
    {
        var rng = new Random(9);
        var weights = new List<KeyValuePair<string, Tensor>>();
        void Add(string name, Tensor t) { _tensors.Add(t); weights.Add(new(name, t)); }
        Add("model.embed_tokens.weight", Tensor.Randn([16, 8], rng, dtype: dtype));
        Add("model.layers.0.self_attn.q_proj.weight", Tensor.Randn([8, 8], rng, dtype: dtype));
        Add("model.layers.0.mlp.down_proj.weight", Tensor.Randn([8, 12], rng, dtype: dtype));
        Add("model.norm.weight", Tensor.Randn([8], rng, dtype: dtype));
        Add("lm_head.weight", Tensor.Randn([16, 8], rng, dtype: dtype));
        Add("position_ids", Tensor.FromArray(new[] { 0, 1, 2, 3 }, 4));
        string folder = Folder("in");
        CheckpointWriter.Write(folder, weights, maxShardBytes);
        File.WriteAllText(Path.Combine(folder, "config.json"), """
            {
              "architectures": ["LlamaForCausalLM"],
              "hidden_size": 8,
              "rms_norm_eps": 1e-05,
              "torch_dtype": "bfloat16"
            }
            """);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), """{"model": {"type": "BPE"}}""");
        File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), [1, 2, 3]);
        return (folder, weights);
    }

    [Fact]
    public void ConvertsBFloat16ToFloat32Exactly()
    {
        var (input, weights) = MakeCheckpoint(DType.BF16);
        string output = Folder("out");

        var result = CliRunner.Run("convert", "--model", input, "--out", output, "--dtype", "f32");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("6 tensors, 5 converted, 1 copied as stored", result.Output);
        using var reader = CheckpointReader.Open(output);
        Assert.False(reader.IsSharded);
        Assert.Equal(weights.Select(kv => kv.Key), reader.Names);
        foreach (var (name, tensor) in weights)
        {
            using var read = reader.Read(name);
            Assert.Equal(tensor.DType == DType.I32 ? DType.I32 : DType.F32, read.DType);
            Assert.Equal(tensor.ToDoubleArray(), read.ToDoubleArray());
        }
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "config.json")));
        Assert.Equal("float32", config.RootElement.GetProperty("torch_dtype").GetString());
        Assert.Equal(8, config.RootElement.GetProperty("hidden_size").GetInt32());
        Assert.Equal(File.ReadAllBytes(Path.Combine(input, "tokenizer.model")), File.ReadAllBytes(Path.Combine(output, "tokenizer.model")));
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
    }

    [Fact]
    public void ConvertsShardedFloat32ToBFloat16KeepingTheShards()
    {
        var (input, weights) = MakeCheckpoint(DType.F32, maxShardBytes: 600);
        string output = Folder("out");
        using (var source = CheckpointReader.Open(input)) Assert.True(source.Files.Count >= 3);

        var result = CliRunner.Run("convert", "--model", input, "--out", output, "--dtype", "bf16");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var before = CheckpointReader.Open(input);
        using var after = CheckpointReader.Open(output);
        Assert.True(after.IsSharded);
        Assert.Equal(before.Files.Count, after.Files.Count);
        Assert.Equal(before.Files.Select(f => Path.GetFileName(f.Path)), after.Files.Select(f => Path.GetFileName(f.Path)));
        foreach (var name in before.Names)
            Assert.Equal(Path.GetFileName(before.FileOf(name).Path), Path.GetFileName(after.FileOf(name).Path));
        foreach (var (name, tensor) in weights)
        {
            using var read = after.Read(name);
            if (tensor.DType == DType.I32)
            {
                Assert.Equal("I32", after.DTypeName(name));
                Assert.Equal(tensor.ToArray<int>(), read.ToArray<int>());
            }
            else
            {
                Assert.Equal("BF16", after.DTypeName(name));
                Assert.Equal(tensor.ToArray<float>().Select(BFloat16.FromFloat), read.ToArray<ushort>());
            }
        }
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "config.json")));
        Assert.Equal("bfloat16", config.RootElement.GetProperty("torch_dtype").GetString());
    }

    [Fact]
    public void RefusesToWriteIntoTheInputFolder()
    {
        var (input, _) = MakeCheckpoint(DType.BF16);
        var before = File.ReadAllBytes(Path.Combine(input, CheckpointReader.SingleFileName));

        var result = CliRunner.Run("convert", "--model", input, "--out", input + "/", "--dtype", "f32");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("is the input folder", result.Error);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(input, CheckpointReader.SingleFileName)));
    }

    [Fact]
    public void RefusesToReplaceAnotherCheckpointUnlessForced()
    {
        var (input, weights) = MakeCheckpoint(DType.BF16);
        string output = Folder("out");
        using (var other = Tensor.Ones([3])) CheckpointWriter.Write(output, [new("other", other)]);

        var refused = CliRunner.Run("convert", "--model", input, "--out", output, "--dtype", "f32");

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("already holds a checkpoint (model.safetensors)", refused.Error);
        Assert.Contains("--force", refused.Error);
        using (var untouched = CheckpointReader.Open(output)) Assert.Equal(["other"], untouched.Names);

        var forced = CliRunner.Run("convert", "--model", input, "--out", output, "--dtype", "f32", "--force");

        Assert.True(forced.ExitCode == 0, forced.ToString());
        using var replaced = CheckpointReader.Open(output);
        Assert.Equal(weights.Select(kv => kv.Key), replaced.Names);
    }

    [Fact]
    public void WritesIntoAFolderThatHoldsNoCheckpoint()
    {
        var (input, _) = MakeCheckpoint(DType.BF16);
        string output = Folder("out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "README.md"), "notes");

        var result = CliRunner.Run("convert", "--model", input, "--out", output, "--dtype", "f32");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("notes", File.ReadAllText(Path.Combine(output, "README.md")));
    }

    [Fact]
    public void ACorruptInputIsReportedWithTheFile()
    {
        var (input, _) = MakeCheckpoint(DType.BF16);
        string file = Path.Combine(input, CheckpointReader.SingleFileName);
        using (var stream = new FileStream(file, FileMode.Open)) stream.SetLength(stream.Length - 2);

        var result = CliRunner.Run("convert", "--model", input, "--out", Folder("out"), "--dtype", "f32");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"error: {file}: tensor 'position_ids'", result.Error);
        Assert.Contains("truncated", result.Error);
        Assert.False(File.Exists(Path.Combine(Folder("out"), CheckpointReader.SingleFileName)));
    }

    [Fact]
    public void AMissingInputFolderIsAnError()
    {
        var result = CliRunner.Run("convert", "--model", Folder("absent"), "--out", Folder("out"), "--dtype", "f32");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(Folder("absent"), result.Error);
    }

    [Fact]
    public void BadArgumentsAreRefusedByTheParser()
    {
        Assert.NotEqual(0, CliRunner.Run("convert", "--model", "a", "--out", "b", "--dtype", "f16").ExitCode);
        Assert.NotEqual(0, CliRunner.Run("convert", "--out", "b", "--dtype", "f32").ExitCode);
    }

    [Fact]
    public void HelpDescribesEveryOption()
    {
        var result = CliRunner.Run("convert", "--help");

        Assert.Equal(0, result.ExitCode);
        foreach (string option in new[] { "--model", "--out", "--dtype", "--force" })
            Assert.Contains(option, result.Output);
        Assert.Contains("f32", result.Output);
        Assert.Contains("bf16", result.Output);
    }
}

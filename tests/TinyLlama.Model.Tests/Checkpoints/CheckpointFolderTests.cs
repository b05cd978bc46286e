using System.Text.Json;
using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Tests.Checkpoints;

/// <summary>Hugging Face checkpoint folders: one file or shards with an index, names and shapes as the model expects.</summary>
public sealed class CheckpointFolderTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<Tensor> _tensors = [];

    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
        _dir.Dispose();
    }

    /// <summary>A two-layer Llama-shaped state dict with HF names; small enough to shard at a few hundred bytes.</summary>
    private List<KeyValuePair<string, Tensor>> TinyLlamaWeights(DType dtype = DType.F32)
    {
        const int C = 8, KvC = 4, Hidden = 12, V = 16;
        var rng = new Random(5);
        var weights = new List<KeyValuePair<string, Tensor>>();
        void Add(string name, params int[] shape)
        {
            var t = Tensor.Randn(shape, rng, dtype: dtype);
            _tensors.Add(t);
            weights.Add(new(name, t));
        }
        Add("model.embed_tokens.weight", V, C);
        for (int layer = 0; layer < 2; layer++)
        {
            string p = $"model.layers.{layer}.";
            Add(p + "input_layernorm.weight", C);
            Add(p + "self_attn.q_proj.weight", C, C);
            Add(p + "self_attn.k_proj.weight", KvC, C);
            Add(p + "self_attn.v_proj.weight", KvC, C);
            Add(p + "self_attn.o_proj.weight", C, C);
            Add(p + "post_attention_layernorm.weight", C);
            Add(p + "mlp.gate_proj.weight", Hidden, C);
            Add(p + "mlp.up_proj.weight", Hidden, C);
            Add(p + "mlp.down_proj.weight", C, Hidden);
        }
        Add("model.norm.weight", C);
        Add("lm_head.weight", V, C);
        return weights;
    }

    private static void AssertSameTensors(List<KeyValuePair<string, Tensor>> expected, CheckpointReader reader)
    {
        Assert.Equal(expected.Select(kv => kv.Key), reader.Names);
        foreach (var (name, tensor) in expected)
        {
            Assert.Equal(tensor.ShapeArray(), reader.Shape(name));
            using var read = reader.Read(name);
            Assert.Equal(tensor.ToDoubleArray(), read.ToDoubleArray());
        }
    }

    [Fact]
    public void SingleFileFolderRoundTrips()
    {
        var weights = TinyLlamaWeights(DType.BF16);

        CheckpointReader.Write(_dir.Path, weights);

        Assert.Equal([CheckpointReader.SingleFileName], _dir.FileNames());
        using var reader = CheckpointReader.Open(_dir.Path);
        Assert.False(reader.IsSharded);
        Assert.Equal("BF16", reader.DTypeName("lm_head.weight"));
        Assert.Equal("pt", reader.Files[0].Metadata["format"]); // transformers refuses files without it
        AssertSameTensors(weights, reader);
    }

    [Fact]
    public void ShardedFolderRoundTripsWithAnIndex()
    {
        var weights = TinyLlamaWeights();
        long total = weights.Sum(kv => kv.Value.Numel * 4);

        CheckpointReader.Write(_dir.Path, weights, maxShardBytes: 1200);

        var files = _dir.FileNames();
        int shards = files.Count(f => f.StartsWith("model-", StringComparison.Ordinal));
        Assert.True(shards >= 3, string.Join(", ", files));
        Assert.Contains(CheckpointReader.IndexFileName, files);
        Assert.Contains($"model-00001-of-{shards:D5}.safetensors", files);
        Assert.Contains($"model-{shards:D5}-of-{shards:D5}.safetensors", files);
        Assert.DoesNotContain(CheckpointReader.SingleFileName, files);
        Assert.DoesNotContain(files, f => f.Contains(".tmp-", StringComparison.Ordinal));

        using (var index = JsonDocument.Parse(File.ReadAllText(_dir.File(CheckpointReader.IndexFileName))))
        {
            Assert.Equal(total, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
            Assert.Equal(weights.Count, index.RootElement.GetProperty("weight_map").EnumerateObject().Count());
        }
        using var reader = CheckpointReader.Open(_dir.Path);
        Assert.True(reader.IsSharded);
        Assert.Equal(shards, reader.Files.Count);
        Assert.All(reader.Files, f => Assert.True(new FileInfo(f.Path).Length - 8 - f.HeaderLength <= 1200));
        AssertSameTensors(weights, reader);
    }

    [Fact]
    public void ReadsAHandWrittenShardedFolderInTheTransformersLayout()
    {
        // Two shards and an index as transformers writes them (indent 2, sorted keys), built without our writer.
        RawSafetensors.Write(_dir.File("model-00001-of-00002.safetensors"),
            """{"__metadata__":{"format":"pt"},"model.embed_tokens.weight":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}}""",
            RawSafetensors.Floats(1f, 2f));
        RawSafetensors.Write(_dir.File("model-00002-of-00002.safetensors"),
            """{"__metadata__":{"format":"pt"},"lm_head.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"model.norm.weight":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""",
            RawSafetensors.Floats(3f, 4f, 5f));
        File.WriteAllText(_dir.File(CheckpointReader.IndexFileName), """
            {
              "metadata": {
                "total_size": 20
              },
              "weight_map": {
                "lm_head.weight": "model-00002-of-00002.safetensors",
                "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                "model.norm.weight": "model-00002-of-00002.safetensors"
              }
            }
            """);

        using var reader = CheckpointReader.Open(_dir.Path);

        Assert.True(reader.IsSharded);
        Assert.Equal(["lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"], reader.Names);
        Assert.Equal(_dir.File("model-00001-of-00002.safetensors"), reader.FileOf("model.embed_tokens.weight").Path);
        using (var head = reader.ReadExpected("lm_head.weight", [1, 2], DType.F32)) Assert.Equal([3.0, 4.0], head.ToDoubleArray());
        using (var embed = reader.ReadExpected("model.embed_tokens.weight", [2, 1], DType.BF16)) Assert.Equal([1.0, 2.0], embed.ToDoubleArray());
        using (var norm = reader.Read("model.norm.weight")) Assert.Equal([5.0], norm.ToDoubleArray());
    }

    [Fact]
    public void ATensorLargerThanTheShardLimitGetsAShardOfItsOwn()
    {
        var weights = TinyLlamaWeights();
        CheckpointReader.Write(_dir.Path, weights, maxShardBytes: 100);

        using var reader = CheckpointReader.Open(_dir.Path);
        Assert.Equal(weights.Count, reader.Files.Count);
        AssertSameTensors(weights, reader);
    }

    [Fact]
    public void RewritingAFolderRemovesTheOtherLayout()
    {
        var weights = TinyLlamaWeights();
        CheckpointReader.Write(_dir.Path, weights, maxShardBytes: 1200);
        File.WriteAllText(_dir.File("config.json"), "{}");

        CheckpointReader.Write(_dir.Path, weights);
        Assert.Equal(["config.json", CheckpointReader.SingleFileName], _dir.FileNames());

        CheckpointReader.Write(_dir.Path, weights, maxShardBytes: 1200);
        Assert.DoesNotContain(CheckpointReader.SingleFileName, _dir.FileNames());
        using var reader = CheckpointReader.Open(_dir.Path);
        AssertSameTensors(weights, reader);
    }

    [Fact]
    public void ReadExpectedChecksTheShapeTheConfigDictates()
    {
        CheckpointReader.Write(_dir.Path, TinyLlamaWeights(DType.BF16));
        using var reader = CheckpointReader.Open(_dir.Path);

        using (var k = reader.ReadExpected("model.layers.1.self_attn.k_proj.weight", [4, 8], DType.F32))
            Assert.Equal(DType.F32, k.DType);

        var e = Assert.Throws<CheckpointFormatException>(() => reader.ReadExpected("model.layers.1.self_attn.k_proj.weight", [8, 8], DType.F32));
        string file = _dir.File(CheckpointReader.SingleFileName);
        Assert.StartsWith(file + ": ", e.Message);
        Assert.Contains("'model.layers.1.self_attn.k_proj.weight'", e.Message);
        Assert.Contains("wrong shape for the config", e.Message);
        Assert.Contains("(4, 8)", e.Message);
        Assert.Contains("(8, 8)", e.Message);
    }

    [Fact]
    public void MissingTensorInASingleFileFolder()
    {
        CheckpointReader.Write(_dir.Path, TinyLlamaWeights());
        using var reader = CheckpointReader.Open(_dir.Path);

        var e = Assert.Throws<CheckpointFormatException>(() => reader.ReadExpected("model.layers.2.mlp.up_proj.weight", [12, 8], DType.F32));
        Assert.StartsWith(_dir.File(CheckpointReader.SingleFileName) + ": ", e.Message);
        Assert.Contains("'model.layers.2.mlp.up_proj.weight'", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void MissingTensorInAShardedFolderNamesTheIndex()
    {
        CheckpointReader.Write(_dir.Path, TinyLlamaWeights(), maxShardBytes: 1200);
        using var reader = CheckpointReader.Open(_dir.Path);

        var e = Assert.Throws<CheckpointFormatException>(() => reader.Read("lm_head.bias"));
        Assert.StartsWith(_dir.File(CheckpointReader.IndexFileName) + ": ", e.Message);
        Assert.Contains("'lm_head.bias'", e.Message);
        Assert.Contains("missing from the weight_map", e.Message);
    }

    [Fact]
    public void IndexPointingToAMissingShard()
    {
        CheckpointReader.Write(_dir.Path, TinyLlamaWeights(), maxShardBytes: 1200);
        string shard = _dir.FileNames().Last(f => f.StartsWith("model-", StringComparison.Ordinal));
        File.Delete(_dir.File(shard));
        string firstInShard;
        using (var index = JsonDocument.Parse(File.ReadAllText(_dir.File(CheckpointReader.IndexFileName))))
            firstInShard = index.RootElement.GetProperty("weight_map").EnumerateObject().First(p => p.Value.GetString() == shard).Name;

        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(_dir.Path));
        Assert.StartsWith(_dir.File(CheckpointReader.IndexFileName) + ": ", e.Message);
        Assert.Contains($"'{firstInShard}'", e.Message);
        Assert.Contains($"shard '{shard}', which does not exist", e.Message);
    }

    [Fact]
    public void IndexNamingATensorAbsentFromItsShard()
    {
        CheckpointReader.Write(_dir.Path, TinyLlamaWeights(), maxShardBytes: 1200);
        string indexPath = _dir.File(CheckpointReader.IndexFileName);
        // Point the first tensor at the last shard, which does not hold it.
        var index = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(indexPath))!;
        var map = index["weight_map"]!.AsObject();
        string lastShard = (string)map["lm_head.weight"]!;
        map["model.embed_tokens.weight"] = lastShard;
        File.WriteAllText(indexPath, index.ToJsonString());

        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(_dir.Path));
        Assert.StartsWith(indexPath + ": ", e.Message);
        Assert.Contains("'model.embed_tokens.weight'", e.Message);
        Assert.Contains($"shard '{lastShard}', but that shard does not hold it", e.Message);
    }

    [Theory]
    [InlineData("""{"weight_map": {"w": "../elsewhere.safetensors"}}""", "not a plain file name")]
    [InlineData("""{"metadata": {}}""", "no \"weight_map\"")]
    [InlineData("""{"weight_map": {"w": 3}}""", "must be a shard file name")]
    [InlineData("""{"weight_map": """, "not valid JSON")]
    public void BrokenIndexFiles(string json, string problem)
    {
        string indexPath = _dir.File(CheckpointReader.IndexFileName);
        File.WriteAllText(indexPath, json);

        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(_dir.Path));
        Assert.StartsWith(indexPath + ": ", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void ACorruptShardIsReportedWithItsOwnPath()
    {
        CheckpointReader.Write(_dir.Path, TinyLlamaWeights(), maxShardBytes: 1200);
        string shard = _dir.File("model-00002-of-" + _dir.FileNames().Last(f => f.StartsWith("model-", StringComparison.Ordinal))[15..]);
        using (var stream = new FileStream(shard, FileMode.Open)) stream.SetLength(stream.Length - 1);

        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(_dir.Path));
        Assert.StartsWith(shard + ": ", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void FolderWithNoCheckpointOrTwo()
    {
        var none = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(_dir.Path));
        Assert.Contains("holds neither model.safetensors nor model.safetensors.index.json", none.Message);

        CheckpointReader.Write(_dir.Path, TinyLlamaWeights());
        File.WriteAllText(_dir.File(CheckpointReader.IndexFileName), "{}");
        var both = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(_dir.Path));
        Assert.StartsWith(_dir.Path + ": ", both.Message);
        Assert.Contains("holds both", both.Message);

        Assert.Throws<DirectoryNotFoundException>(() => CheckpointReader.Open(_dir.File("absent")));
    }
}

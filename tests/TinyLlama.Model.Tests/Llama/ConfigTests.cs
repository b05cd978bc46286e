using System.Text.Json.Nodes;
using TinyLlama.Model;

namespace TinyLlama.Model.Tests.Llama;

public class ConfigTests
{
    [Fact]
    public void TinyLlama1B_HasTheReportedParameterCount() =>
        Assert.Equal(1_100_048_384L, LlamaPresets.TinyLlama1B.ParameterCount());

    [Theory]
    [InlineData("nano")]
    [InlineData("tiny")]
    public void ParameterCountFormula_MatchesTheBuiltModel(string preset)
    {
        var config = LlamaPresets.Get(preset);
        using var model = new LlamaForCausalLM(config);
        Assert.Equal(config.ParameterCount(), model.ParameterCount());
    }

    [Fact]
    public void TinyPreset_IsTheIssuesShape()
    {
        var c = LlamaPresets.Tiny;
        Assert.Equal((4096, 256, 4, 8, 4, 688, 256), (c.VocabSize, c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKvHeads, c.IntermediateSize, c.MaxSeqLen));
    }

    [Fact]
    public void HfJson_RoundTrips()
    {
        var json = HfConfigJson.ToJson(LlamaPresets.TinyLlama1B);
        var back = HfConfigJson.Parse((JsonObject)JsonNode.Parse(json)!, "config.json");
        Assert.Equal(LlamaPresets.TinyLlama1B, back);
    }

    [Theory]
    [InlineData("hidden_size", "2047", "not divisible")]
    [InlineData("num_key_value_heads", "5", "not a multiple")]
    [InlineData("vocab_size", "\"big\"", "expected an integer")]
    [InlineData("hidden_act", "\"gelu\"", "only 'silu'")]
    [InlineData("rope_scaling", "{\"type\": \"linear\", \"factor\": 2.0}", "not supported")]
    public void HfJson_BadFields_AreNamed(string field, string value, string expected)
    {
        var root = (JsonObject)JsonNode.Parse(HfConfigJson.ToJson(LlamaPresets.TinyLlama1B))!;
        root[field] = JsonNode.Parse(value);
        var e = Assert.Throws<InvalidDataException>(() => HfConfigJson.Parse(root, "dir/config.json"));
        Assert.Contains("dir/config.json", e.Message);
        Assert.Contains(field, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void HfJson_MissingField_IsNamed()
    {
        var root = (JsonObject)JsonNode.Parse(HfConfigJson.ToJson(LlamaPresets.Nano))!;
        root.Remove("intermediate_size");
        var e = Assert.Throws<InvalidDataException>(() => HfConfigJson.Parse(root, "config.json"));
        Assert.Contains("intermediate_size", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void ParameterNames_AreHuggingFaces()
    {
        using var model = new LlamaForCausalLM(LlamaPresets.Nano);
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal("model.embed_tokens.weight", names[0]);
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", names);
        Assert.Contains("model.layers.1.self_attn.k_proj.weight", names);
        Assert.Contains("model.layers.1.mlp.down_proj.weight", names);
        Assert.Contains("model.layers.0.input_layernorm.weight", names);
        Assert.Contains("model.layers.0.post_attention_layernorm.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.Equal("lm_head.weight", names[^1]);
        Assert.Equal(3 + 2 * 9, names.Count);
    }
}

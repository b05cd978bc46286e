using TinyLlama.Model.Generation;
using TinyLlama.Tensors;
using TinyLlama.Tensors.Modules;

namespace TinyLlama.Model;

/// <summary>A pre-norm block: x = x + attn(norm(x)); x = x + mlp(norm(x)).</summary>
public sealed class LlamaDecoderLayer : Module
{
    public LlamaDecoderLayer(LlamaConfig config, Random rng, double std, double outputStd)
    {
        SelfAttention = RegisterModule("self_attn", new LlamaAttention(config, rng, std, outputStd));
        Mlp = RegisterModule("mlp", new LlamaMlp(config, rng, std, outputStd));
        InputNorm = RegisterModule("input_layernorm", new RmsNorm(config.HiddenSize, config.RmsNormEps));
        PostAttentionNorm = RegisterModule("post_attention_layernorm", new RmsNorm(config.HiddenSize, config.RmsNormEps));
    }

    public LlamaAttention SelfAttention { get; }
    public LlamaMlp Mlp { get; }
    public RmsNorm InputNorm { get; }
    public RmsNorm PostAttentionNorm { get; }

    public Tensor Forward(Tensor x, RopeTables rope, KvCacheLayer? cache = null, int startPos = 0)
    {
        var h = x + SelfAttention.Forward(InputNorm.Forward(x), rope, cache, startPos);
        return h + Mlp.Forward(PostAttentionNorm.Forward(h));
    }

    /// <summary>
    /// The training forward (whole sequence, no cache) under activation checkpointing: only x is kept for backward,
    /// which recomputes the layer (see <see cref="Functional.Checkpoint"/>).
    /// </summary>
    public Tensor ForwardCheckpointed(Tensor x, RopeTables rope) => Functional.Checkpoint(input => Forward(input, rope), x);
}

using TinyLlama.Model.Generation;
using TinyLlama.Tensors;
using TinyLlama.Tensors.Modules;

namespace TinyLlama.Model;

/// <summary>
/// Llama-2 for next-token prediction, with Hugging Face's parameter names:
/// <c>model.embed_tokens</c>, <c>model.layers.N.{self_attn,mlp,input_layernorm,post_attention_layernorm}</c>,
/// <c>model.norm</c>, <c>lm_head</c>. Token ids are i32 tensors (B, T).
/// </summary>
public sealed class LlamaForCausalLM : Module
{
    public LlamaForCausalLM(LlamaConfig config, int seed = 0)
    {
        Config = config.Validate();
        // TinyLlama's initialisation: N(0, √(2 / 5C)) everywhere; the projections that write into the residual
        // stream (o_proj, down_proj) get N(0, 1 / √C / L) so the stream does not grow with depth; norms start at 1.
        var rng = new Random(seed);
        double std = Math.Sqrt(2.0 / (5 * config.HiddenSize));
        double outputStd = 1.0 / Math.Sqrt(config.HiddenSize) / config.NumLayers;
        Model = RegisterModule("model", new LlamaModel(config, rng, std, outputStd));
        if (!config.TieWordEmbeddings)
            LmHead = RegisterModule("lm_head", new Linear(config.HiddenSize, config.VocabSize, rng: rng, std: std));
        Rope = new RopeTables(config);
    }

    public LlamaConfig Config { get; }

    public LlamaModel Model { get; }

    /// <summary>The output projection (V, C); null when tied to the embedding.</summary>
    public Linear? LmHead { get; }

    public RopeTables Rope { get; }

    /// <summary>
    /// Activation checkpointing (off by default): when on, training forwards (autograd on, no KV cache) run each
    /// decoder layer through <see cref="Functional.Checkpoint"/>. Memory: of each layer only its input (B, T, C) is
    /// kept for backward, instead of all the activations its ops save (attention, MLP, norms: many times that).
    /// Cost: backward runs every layer's forward once more; as backward costs about two forwards, a step takes up
    /// to a third longer. Losses and gradients are the same as without it. Forwards under
    /// <see cref="GradMode.NoGrad"/> (evaluation, generation) and <see cref="ForwardCached"/> are unaffected.
    /// </summary>
    public bool ActivationCheckpointing
    {
        get => Model.ActivationCheckpointing;
        set => Model.ActivationCheckpointing = value;
    }

    /// <summary>ids (B, T) → logits (B, T, V), recorded for autograd when parameters require grad.</summary>
    public Tensor Forward(Tensor ids) => Logits(Model.Forward(ids, Rope));

    /// <summary>Mean next-token cross-entropy of <paramref name="targets"/> (B, T), −100 ignored.</summary>
    public Tensor Loss(Tensor ids, Tensor targets) => Functional.CrossEntropy(Forward(ids), targets);

    /// <summary>
    /// Inference with a KV cache: the new tokens ids (B, T) sit at positions startPos…startPos+T−1; their keys and
    /// values are appended to the cache. With lastOnly, logits are computed for the last position only: (B, 1, V).
    /// </summary>
    public Tensor ForwardCached(Tensor ids, KvCache cache, int startPos, bool lastOnly = true)
    {
        using var noGrad = GradMode.NoGrad();
        var h = Model.Forward(ids, Rope, cache, startPos);  // (B, T, C)
        if (lastOnly) h = h.Narrow(1, h.Size(1) - 1, 1);
        return Logits(h);
    }

    private Tensor Logits(Tensor h)
    {
        if (LmHead is not null) return LmHead.Forward(h);
        var table = Model.EmbedTokens.Weight;
        if (table.DType == h.DType)
        {
            using var tableT = table.Transpose();
            return h.MatMul(tableT);
        }
        using var w = table.To(h.DType); // mixed precision: see Linear.Forward
        using var wt = w.Transpose();
        return h.MatMul(wt);
    }

    /// <summary>
    /// The dtype activations flow in: f32 by default; bf16 for mixed-precision training on a GPU. The parameters stay
    /// f32 (the master weights the optimizer updates); each layer casts its weight to this dtype when it uses it, and
    /// the embedding's rows are cast after the lookup. The logits come out in this dtype; the loss is f32.
    /// </summary>
    public DType ActivationDType
    {
        get => Model.EmbedTokens.OutputDType ?? Model.EmbedTokens.Weight.DType;
        set => Model.EmbedTokens.OutputDType = value;
    }

    /// <summary>Moves the parameters and the RoPE tables to <paramref name="device"/> (in place).</summary>
    public override void To(Device device)
    {
        base.To(device);
        Rope.MoveTo(device);
    }

    public override void Dispose()
    {
        base.Dispose();
        Rope.Dispose();
    }
}

/// <summary>The decoder stack without the output projection (HF's <c>LlamaModel</c>, the "model." prefix).</summary>
public sealed class LlamaModel : Module
{
    private readonly LlamaConfig _config;

    public LlamaModel(LlamaConfig config, Random rng, double std, double outputStd)
    {
        _config = config;
        EmbedTokens = RegisterModule("embed_tokens", new Embedding(config.VocabSize, config.HiddenSize, rng, std));
        Layers = RegisterModule("layers", new ModuleList<LlamaDecoderLayer>(
            Enumerable.Range(0, config.NumLayers).Select(_ => new LlamaDecoderLayer(config, rng, std, outputStd)).ToList()));
        Norm = RegisterModule("norm", new RmsNorm(config.HiddenSize, config.RmsNormEps));
    }

    public Embedding EmbedTokens { get; }
    public ModuleList<LlamaDecoderLayer> Layers { get; }
    public RmsNorm Norm { get; }

    /// <summary>Runs each layer of a training forward through <see cref="Functional.Checkpoint"/>; see <see cref="LlamaForCausalLM.ActivationCheckpointing"/>.</summary>
    public bool ActivationCheckpointing { get; set; }

    /// <summary>ids (B, T) → final hidden states (B, T, C).</summary>
    public Tensor Forward(Tensor ids, RopeTables rope, KvCache? cache = null, int startPos = 0)
    {
        if (ids.Rank != 2)
            throw new ArgumentException($"llama: ids have shape {ids.ShapeText}; expected (B, T)");
        if (startPos + ids.Size(1) > _config.MaxSeqLen)
            throw new ArgumentException($"llama: positions up to {startPos + ids.Size(1)} exceed the context length max_position_embeddings = {_config.MaxSeqLen}");
        var x = EmbedTokens.Forward(ids); // (B, T, C)
        bool checkpoint = ActivationCheckpointing && cache is null && GradMode.IsEnabled;
        for (int i = 0; i < Layers.Count; i++)
            x = checkpoint ? Layers[i].ForwardCheckpointed(x, rope) : Layers[i].Forward(x, rope, cache?.Layers[i], startPos);
        return Norm.Forward(x);
    }
}

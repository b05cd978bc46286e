using TinyLlama.Model.Generation;
using TinyLlama.Tensors;
using TinyLlama.Tensors.Modules;

namespace TinyLlama.Model;

/// <summary>
/// Grouped-query self-attention: q, k, v projections, rotate-half RoPE on q and k, causal attention in which
/// H query heads share KvH kv heads (no K/V repeat in memory), then the output projection.
/// </summary>
public sealed class LlamaAttention : Module
{
    private readonly LlamaConfig _config;

    public LlamaAttention(LlamaConfig config, Random rng, double std, double outputStd)
    {
        _config = config;
        int c = config.HiddenSize, kv = config.NumKvHeads * config.HeadSize;
        QProj = RegisterModule("q_proj", new Linear(c, c, rng: rng, std: std));
        KProj = RegisterModule("k_proj", new Linear(c, kv, rng: rng, std: std));
        VProj = RegisterModule("v_proj", new Linear(c, kv, rng: rng, std: std));
        OProj = RegisterModule("o_proj", new Linear(c, c, rng: rng, std: outputStd));
    }

    public Linear QProj { get; }
    public Linear KProj { get; }
    public Linear VProj { get; }
    public Linear OProj { get; }

    /// <summary>
    /// x (B, T, C) → (B, T, C). Without a cache this is the differentiable training path over the whole sequence;
    /// with one, the new tokens sit at positions startPos… and attend to everything cached before them.
    /// </summary>
    public Tensor Forward(Tensor x, RopeTables rope, KvCacheLayer? cache = null, int startPos = 0)
    {
        int b = x.Size(0), t = x.Size(1);
        int h = _config.NumHeads, kvh = _config.NumKvHeads, hs = _config.HeadSize;
        var q = Functional.Rope(QProj.Forward(x).Reshape(b, t, h, hs), rope.Cos, rope.Sin, startPos);   // (B, T, H, Hs)
        var k = Functional.Rope(KProj.Forward(x).Reshape(b, t, kvh, hs), rope.Cos, rope.Sin, startPos); // (B, T, KvH, Hs)
        var v = VProj.Forward(x).Reshape(b, t, kvh, hs);                                                 // (B, T, KvH, Hs)

        Tensor y; // (B, T, C)
        if (cache is null)
        {
            var att = Functional.CausalAttention(q.Permute(0, 2, 1, 3), k.Permute(0, 2, 1, 3), v.Permute(0, 2, 1, 3)); // (B, H, T, Hs)
            y = att.Permute(0, 2, 1, 3).Reshape(b, t, h * hs);
        }
        else
        {
            y = CachedAttention.Forward(q, k, v, cache, startPos);
        }
        return OProj.Forward(y);
    }
}

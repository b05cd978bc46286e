using TinyLlama.Tensors;

namespace TinyLlama.Model.Generation;

/// <summary>
/// Keys and values of every position seen so far, per layer, so each new token costs one position of compute
/// instead of the whole prefix. Per layer: K and V (B, KvH, maxT, Hs), already rotated (RoPE) for K.
/// </summary>
public sealed class KvCache : IDisposable
{
    public KvCache(LlamaConfig config, int batch, int maxT = 0)
    {
        maxT = maxT <= 0 ? config.MaxSeqLen : Math.Min(maxT, config.MaxSeqLen);
        Layers = Enumerable.Range(0, config.NumLayers)
            .Select(_ => new KvCacheLayer(batch, config.NumKvHeads, maxT, config.HeadSize)).ToArray();
    }

    public KvCacheLayer[] Layers { get; }

    public void Dispose()
    {
        foreach (var layer in Layers) layer.Dispose();
    }
}

public sealed class KvCacheLayer : IDisposable
{
    public KvCacheLayer(int batch, int kvHeads, int maxT, int headSize)
    {
        (Batch, KvHeads, MaxT, HeadSize) = (batch, kvHeads, maxT, headSize);
        Keys = Tensor.Zeros([batch, kvHeads, maxT, headSize]);
        Values = Tensor.Zeros([batch, kvHeads, maxT, headSize]);
        TensorScope.Untrack(Keys);
        TensorScope.Untrack(Values);
    }

    public int Batch { get; }
    public int KvHeads { get; }
    public int MaxT { get; }
    public int HeadSize { get; }
    public Tensor Keys { get; }    // (B, KvH, maxT, Hs)
    public Tensor Values { get; }  // (B, KvH, maxT, Hs)

    public void Dispose()
    {
        Keys.Dispose();
        Values.Dispose();
    }
}

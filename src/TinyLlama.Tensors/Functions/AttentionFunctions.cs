using K = TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal sealed class AttentionFunction : Function
{
    private readonly Tensor _q, _k, _v, _probs;
    private readonly double _scale;

    public AttentionFunction(Tensor q, Tensor k, Tensor v, Tensor probs, double scale)
        => (_q, _k, _v, _probs, _scale) = (Save(q), Save(k), Save(v), Save(probs), scale);

    public override string Name => "attention";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dq = Tensor.Empty(_q.ShapeArray(), g.DType);
        var dk = Tensor.Empty(_k.ShapeArray(), g.DType);
        var dv = Tensor.Empty(_v.ShapeArray(), g.DType);
        int b = _q.Size(0), h = _q.Size(1), t = _q.Size(2), hs = _q.Size(3), kvh = _k.Size(1);
        if (g.DType == DType.F32)
            K.Attention.Backward(_q.AsSpan<float>(), _k.AsSpan<float>(), _v.AsSpan<float>(), _probs.AsSpan<float>(), gc.AsSpan<float>(),
                dq.AsSpan<float>(), dk.AsSpan<float>(), dv.AsSpan<float>(), b, h, kvh, t, hs, (float)_scale);
        else
            K.Attention.Backward(_q.AsSpan<double>(), _k.AsSpan<double>(), _v.AsSpan<double>(), _probs.AsSpan<double>(), gc.AsSpan<double>(),
                dq.AsSpan<double>(), dk.AsSpan<double>(), dv.AsSpan<double>(), b, h, kvh, t, hs, _scale);
        return [dq, dk, dv];
    }
}

/// <summary>The kernel writes the logit gradient straight from the saved log-sum-exp: softmax − onehot, scaled.</summary>
internal sealed class CrossEntropyFunction : Function
{
    private readonly Tensor _logits, _targets, _lse;
    private readonly int _rows, _vocab, _ignoreIndex, _count;

    public CrossEntropyFunction(Tensor logits, Tensor targets, Tensor lse, int rows, int vocab, int ignoreIndex, int count)
        => (_logits, _targets, _lse, _rows, _vocab, _ignoreIndex, _count) = (Save(logits), Save(targets), Save(lse), rows, vocab, ignoreIndex, count);

    public override string Name => "cross_entropy";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        double scale = _count == 0 ? 0.0 : g.Item() / _count;
        var dLogits = Tensor.Empty(_logits.ShapeArray(), g.DType);
        if (g.DType == DType.F32)
            K.CrossEntropy.Backward(_logits.AsSpan<float>(), _targets.AsSpan<int>(), _lse.AsSpan<float>(), (float)scale, dLogits.AsSpan<float>(), _rows, _vocab, _ignoreIndex);
        else
            K.CrossEntropy.Backward(_logits.AsSpan<double>(), _targets.AsSpan<int>(), _lse.AsSpan<double>(), scale, dLogits.AsSpan<double>(), _rows, _vocab, _ignoreIndex);
        return [dLogits];
    }
}

/// <summary>Scatter-add of the output gradient into the rows of the table that were looked up.</summary>
internal sealed class EmbeddingFunction : Function
{
    private readonly Tensor _ids;
    private readonly int _vocab, _channels;

    public EmbeddingFunction(Tensor ids, int vocab, int channels) => (_ids, _vocab, _channels) = (Save(ids), vocab, channels);

    public override string Name => "embedding";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dTable = Tensor.Zeros([_vocab, _channels], g.DType);
        if (g.DType == DType.F32) K.Embedding.Backward(gc.AsSpan<float>(), _ids.AsSpan<int>(), dTable.AsSpan<float>(), _vocab, _channels);
        else K.Embedding.Backward(gc.AsSpan<double>(), _ids.AsSpan<int>(), dTable.AsSpan<double>(), _vocab, _channels);
        return [dTable];
    }
}

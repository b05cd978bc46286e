using K = TinyLlama.Kernels;

namespace TinyLlama.Tensors;

public static partial class Functional
{
    /// <summary>
    /// Causal scaled-dot-product attention with grouped-query heads: q (B, H, T, Hs), k and v (B, KvH, T, Hs),
    /// H a multiple of KvH; query head h attends with kv head h / (H / KvH). Returns (B, H, T, Hs).
    /// The plain version: it keeps the (B, H, T, T) probabilities for backward.
    /// </summary>
    public static Tensor CausalAttention(Tensor q, Tensor k, Tensor v, double? scale = null)
    {
        const string op = "attention";
        if (OpChecks.AnyOnGpu(q, k, v)) return GpuFunctional.CausalAttention(q, k, v, scale);
        var dtype = OpChecks.ComputeInputs(op, q, k, v);
        OpChecks.Rank(op, "q", q, 4);
        OpChecks.Rank(op, "k", k, 4);
        OpChecks.Rank(op, "v", v, 4);
        int b = q.Size(0), h = q.Size(1), t = q.Size(2), hs = q.Size(3), kvh = k.Size(1);
        if (!k.Shape.SequenceEqual(v.Shape) || k.Size(0) != b || k.Size(2) != t || k.Size(3) != hs)
            throw new ArgumentException($"{op}: q {q.ShapeText}, k {k.ShapeText}, v {v.ShapeText}; expected q (B, H, T, Hs) and k, v (B, KvH, T, Hs)");
        if (kvh == 0 || h % kvh != 0)
            throw new ArgumentException($"{op}: {h} query heads cannot be grouped over {kvh} kv heads; expected H to be a multiple of KvH");
        double s = scale ?? 1.0 / Math.Sqrt(hs);
        using var qc = q.CopyIfStrided();
        using var kc = k.CopyIfStrided();
        using var vc = v.CopyIfStrided();
        var output = Tensor.Empty(q.ShapeArray(), dtype);
        var probs = Tensor.Empty([b, h, t, t], dtype);
        if (dtype == DType.F32)
            K.Attention.Forward(qc.AsSpan<float>(), kc.AsSpan<float>(), vc.AsSpan<float>(), output.AsSpan<float>(), probs.AsSpan<float>(), b, h, kvh, t, hs, (float)s);
        else
            K.Attention.Forward(qc.AsSpan<double>(), kc.AsSpan<double>(), vc.AsSpan<double>(), output.AsSpan<double>(), probs.AsSpan<double>(), b, h, kvh, t, hs, s);
        var fn = new AttentionFunction(qc, kc, vc, probs, s);
        probs.Dispose();
        return Autograd.Record(output, fn, q, k, v);
    }

    /// <summary>
    /// Mean cross-entropy of logits (…, V) against i32 targets (…), skipping targets equal to
    /// <paramref name="ignoreIndex"/>. Returns a scalar. Probabilities are never stored.
    /// <para>
    /// On a cuda device logits are f32 or bf16 and targets i32 on the same device; the loss is an f32 scalar on the
    /// device whatever the logits' dtype, and neither forward nor backward waits for the host. The targets are not
    /// read back, so an out-of-range target is not an error there: it makes the loss (and its row of dLogits) NaN.
    /// </para>
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, int ignoreIndex = -100)
    {
        if (OpChecks.AnyOnGpu(logits, targets)) return GpuFunctional.CrossEntropy(logits, targets, ignoreIndex);
        const string op = "cross_entropy";
        var dtype = OpChecks.ComputeInputs(op, logits);
        OpChecks.Indices(op, "targets", targets);
        var (rows, vocab) = CrossEntropyShape(logits, targets);
        using var lc = logits.CopyIfStrided();
        using var tc = targets.CopyIfStrided();
        var lse = Tensor.Empty([rows], dtype);
        var loss = Tensor.Empty([], dtype);
        int count;
        if (dtype == DType.F32)
            loss.AsSpan<float>()[0] = K.CrossEntropy.Forward(lc.AsSpan<float>(), tc.AsSpan<int>(), lse.AsSpan<float>(), rows, vocab, ignoreIndex, out count);
        else
            loss.AsSpan<double>()[0] = K.CrossEntropy.Forward(lc.AsSpan<double>(), tc.AsSpan<int>(), lse.AsSpan<double>(), rows, vocab, ignoreIndex, out count);
        var fn = new CrossEntropyFunction(lc, tc, lse, rows, vocab, ignoreIndex, count);
        lse.Dispose();
        return Autograd.Record(loss, fn, logits);
    }

    /// <summary>Cross-entropy's shape check, shared by the CPU and GPU paths: (rows, V).</summary>
    internal static (int Rows, int Vocab) CrossEntropyShape(Tensor logits, Tensor targets)
    {
        if (logits.Rank < 1 || !targets.Shape.SequenceEqual(logits.Shape[..^1]))
            throw new ArgumentException($"cross_entropy: logits {logits.ShapeText} and targets {targets.ShapeText}; expected logits (…, V) and targets (…) with the same leading shape");
        return (checked((int)targets.Numel), logits.Size(-1));
    }

    /// <summary>
    /// Embedding lookup: table (V, C), i32 ids of any shape → (ids…, C). On a cuda device the table is f32 or bf16
    /// and the ids i32 on the same device; they are not read back, so an out-of-range id is not an error there: its
    /// output row is NaN and backward skips it. The table gradient is a deterministic scatter-add in the table's dtype.
    /// </summary>
    public static Tensor Embedding(Tensor table, Tensor ids)
    {
        if (OpChecks.AnyOnGpu(table, ids)) return GpuFunctional.Embedding(table, ids);
        const string op = "embedding";
        var dtype = OpChecks.ComputeInputs(op, table);
        OpChecks.Indices(op, "ids", ids);
        OpChecks.Rank(op, "table", table, 2);
        int vocab = table.Size(0), channels = table.Size(1);
        using var tc = table.CopyIfStrided();
        using var ic = ids.CopyIfStrided();
        var output = Tensor.Empty([.. ids.ShapeArray(), channels], dtype);
        if (dtype == DType.F32) K.Embedding.Forward(tc.AsSpan<float>(), ic.AsSpan<int>(), output.AsSpan<float>(), vocab, channels);
        else K.Embedding.Forward(tc.AsSpan<double>(), ic.AsSpan<int>(), output.AsSpan<double>(), vocab, channels);
        return Autograd.Record(output, new EmbeddingFunction(ic, vocab, channels), table);
    }
}

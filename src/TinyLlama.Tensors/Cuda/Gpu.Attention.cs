using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal static partial class GpuFunctional
{
    /// <summary>
    /// <see cref="Functional.CausalAttention"/> on the device: FlashAttention-2, which never stores the (B, H, T, T)
    /// probabilities; backward recomputes them from the saved row log-sum-exp. q (B, H, T, Hs), k and v
    /// (B, KvH, T, Hs), H a multiple of KvH, Hs one of <see cref="FlashAttentionGpu.SupportedHeadSizes"/>.
    /// </summary>
    public static Tensor CausalAttention(Tensor q, Tensor k, Tensor v, double? scale)
    {
        const string op = "attention";
        var dtype = OpChecks.GpuInputs(op, q, k, v);
        OpChecks.Rank(op, "q", q, 4);
        OpChecks.Rank(op, "k", k, 4);
        OpChecks.Rank(op, "v", v, 4);
        int b = q.Size(0), h = q.Size(1), t = q.Size(2), hs = q.Size(3), kvh = k.Size(1);
        if (!k.Shape.SequenceEqual(v.Shape) || k.Size(0) != b || k.Size(2) != t || k.Size(3) != hs)
            throw new ArgumentException($"{op}: q {q.ShapeText}, k {k.ShapeText}, v {v.ShapeText}; expected q (B, H, T, Hs) and k, v (B, KvH, T, Hs)");
        if (kvh == 0 || h % kvh != 0)
            throw new ArgumentException($"{op}: {h} query heads cannot be grouped over {kvh} kv heads; expected H to be a multiple of KvH");
        if (!FlashAttentionGpu.SupportedHeadSizes.Contains(hs))
            throw new ArgumentException($"{op}: head size Hs = {hs} (q {q.ShapeText}) has no FlashAttention kernel on {q.Device}; expected one of {string.Join(", ", FlashAttentionGpu.SupportedHeadSizes)}");
        double s = scale ?? 1.0 / Math.Sqrt(hs);
        if (!double.IsFinite(s) || s <= 0)
            throw new ArgumentOutOfRangeException(nameof(scale), s, $"{op}: scale = {s}; expected a finite number > 0");

        // The kernels read (B, H, T, Hs) rows: the model's q.Permute(0, 2, 1, 3) views are gathered here.
        using var qc = q.CopyIfStrided();
        using var kc = k.CopyIfStrided();
        using var vc = v.CopyIfStrided();
        var output = Gpu.EmptyLike(qc);                       // (B, H, T, Hs)
        using var lse = Gpu.Empty(qc, [b, h, t], DType.F32);  // (B, H, T) natural log-sum-exp of each score row
        var flash = Gpu.Kernels<FlashAttentionGpu>(q);
        var stream = Gpu.Stream(q);
        if (dtype == DType.F32)
            flash.Forward(stream, Gpu.F32(qc), Gpu.F32(kc), Gpu.F32(vc), Gpu.F32(output), Gpu.F32(lse), b, h, kvh, t, hs, (float)s);
        else
            flash.Forward(stream, Gpu.Bf16(qc), Gpu.Bf16(kc), Gpu.Bf16(vc), Gpu.Bf16(output), Gpu.F32(lse), b, h, kvh, t, hs, (float)s);
        return Autograd.Record(output, new GpuAttentionFunction(qc, kc, vc, output, lse, (float)s), q, k, v);
    }
}

/// <summary>FlashAttention-2 backward from the saved inputs, output and lse; dk and dv sum over the query heads of a kv head.</summary>
internal sealed class GpuAttentionFunction : Function
{
    private readonly Tensor _q, _k, _v, _output, _lse;
    private readonly float _scale;

    public GpuAttentionFunction(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, float scale)
        => (_q, _k, _v, _output, _lse, _scale) = (Save(q), Save(k), Save(v), Save(output), Save(lse), scale);

    public override string Name => "attention";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        int b = _q.Size(0), h = _q.Size(1), t = _q.Size(2), hs = _q.Size(3), kvh = _k.Size(1);
        using var gc = g.CopyIfStrided();                  // (B, H, T, Hs)
        var dq = Gpu.EmptyLike(_q);                        // (B, H, T, Hs)
        var dk = Gpu.EmptyLike(_k);                        // (B, KvH, T, Hs)
        var dv = Gpu.EmptyLike(_v);                        // (B, KvH, T, Hs)
        // f32 dQ accumulator (B, H, T, Hs) followed by D = rowsum(dO∘O) (B, H, T).
        using var workspace = Gpu.Empty(_q, [checked((int)FlashAttentionGpu.BackwardWorkspaceLength(b, h, t, hs))], DType.F32);
        var flash = Gpu.Kernels<FlashAttentionGpu>(g);
        var stream = Gpu.Stream(g);
        if (_q.DType == DType.F32)
            flash.Backward(stream, Gpu.F32(_q), Gpu.F32(_k), Gpu.F32(_v), Gpu.F32(_output), Gpu.F32(_lse), Gpu.F32(gc),
                Gpu.F32(dq), Gpu.F32(dk), Gpu.F32(dv), Gpu.F32(workspace), b, h, kvh, t, hs, _scale);
        else
            flash.Backward(stream, Gpu.Bf16(_q), Gpu.Bf16(_k), Gpu.Bf16(_v), Gpu.Bf16(_output), Gpu.F32(_lse), Gpu.Bf16(gc),
                Gpu.Bf16(dq), Gpu.Bf16(dk), Gpu.Bf16(dv), Gpu.F32(workspace), b, h, kvh, t, hs, _scale);
        return [dq, dk, dv];
    }
}

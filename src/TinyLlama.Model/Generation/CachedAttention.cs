using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using TinyLlama.Kernels;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Generation;

/// <summary>
/// Attention for inference with a KV cache: new queries at positions startPos… attend causally to every cached
/// position up to their own. Inference only (no autograd); f32.
/// </summary>
internal static class CachedAttention
{
    /// <summary>q (B, T, H, Hs), k and v (B, T, KvH, Hs) → (B, T, H·Hs); k and v are written into the cache first.</summary>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, KvCacheLayer cache, int startPos)
    {
        int b = q.Size(0), t = q.Size(1), h = q.Size(2), hs = q.Size(3), kvh = k.Size(2);
        if (q.DType != DType.F32)
            throw new NotSupportedException($"cached attention: dtype {q.DType.Name()}; inference with a KV cache runs in f32");
        if (b != cache.Batch || kvh != cache.KvHeads || hs != cache.HeadSize)
            throw new ArgumentException($"cached attention: q {q.ShapeText}, k {k.ShapeText} do not fit a cache of (B={cache.Batch}, KvH={cache.KvHeads}, Hs={cache.HeadSize})");
        if (startPos < 0 || startPos + t > cache.MaxT)
            throw new ArgumentException($"cached attention: positions [{startPos}, {startPos + t}) exceed the cache's {cache.MaxT} positions");

        using var qc = q.Contiguous();
        using var kc = k.Contiguous();
        using var vc = v.Contiguous();
        var keys = cache.Keys.AsSpan<float>();
        var values = cache.Values.AsSpan<float>();
        var kNew = kc.AsSpan<float>();
        var vNew = vc.AsSpan<float>();
        int maxT = cache.MaxT;
        // Append: new position p of (b, kv head g) goes to cache row ((b·KvH + g)·maxT + p).
        for (int bi = 0; bi < b; bi++)
            for (int ti = 0; ti < t; ti++)
                for (int g = 0; g < kvh; g++)
                {
                    int src = ((bi * t + ti) * kvh + g) * hs;
                    int dst = ((bi * kvh + g) * maxT + startPos + ti) * hs;
                    kNew.Slice(src, hs).CopyTo(keys.Slice(dst, hs));
                    vNew.Slice(src, hs).CopyTo(values.Slice(dst, hs));
                }

        var output = Tensor.Empty([b, t, h * hs]);
        float scale = 1f / MathF.Sqrt(hs);
        int group = h / kvh;
        var qTensor = qc;
        var kArray = cache.Keys;
        var vArray = cache.Values;
        var outTensor = output;
        CpuParallel.For(b * h, (long)t * (startPos + t) * hs, (start, end) =>
        {
            var qs = qTensor.AsSpan<float>();
            var ks = kArray.AsSpan<float>();
            var vs = vArray.AsSpan<float>();
            var os = outTensor.AsSpan<float>();
            var scores = new float[startPos + t];
            for (int bh = start; bh < end; bh++)
            {
                int bi = bh / h, hi = bh % h, g = hi / group;
                int kvBase = (bi * kvh + g) * maxT * hs;
                for (int ti = 0; ti < t; ti++)
                {
                    int visible = startPos + ti + 1;
                    var query = qs.Slice(((bi * t + ti) * h + hi) * hs, hs);
                    var s = scores.AsSpan(0, visible);
                    for (int j = 0; j < visible; j++) s[j] = TensorPrimitives.Dot(query, ks.Slice(kvBase + j * hs, hs)) * scale;
                    TensorPrimitives.SoftMax(s, s);
                    var o = os.Slice(((bi * t + ti) * h + hi) * hs, hs);
                    o.Clear();
                    for (int j = 0; j < visible; j++)
                        TensorPrimitives.MultiplyAdd(vs.Slice(kvBase + j * hs, hs), s[j], o, o);
                }
            }
        });
        return output;
    }
}

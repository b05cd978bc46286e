using System.Numerics.Tensors;

namespace TinyLlama.Kernels;

public static partial class GradNorm
{
    /// <summary>
    /// CPU clipping with the optimizer's arithmetic: a SIMD sum of squares per buffer (f32), accumulated over buffers in
    /// double; then a SIMD multiply when clipping. Returns the norm before clipping.
    /// </summary>
    public static double Clip(IReadOnlyList<Memory<float>> grads, double maxNorm)
    {
        double sum = 0;
        foreach (var g in grads) sum += TensorPrimitives.SumOfSquares<float>(g.Span);
        double norm = Math.Sqrt(sum);
        float scale = ClipScale(norm, maxNorm);
        if (scale != 1f)
            foreach (var g in grads) TensorPrimitives.Multiply(g.Span, scale, g.Span);
        return norm;
    }
}

namespace TinyLlama.Kernels;

/// <summary>
/// Global gradient-norm clipping, as AdamWOptimizer.ClipGradNorm computes it over all gradient buffers g_b:
///   norm  = √(Σ_b Σ_i g_b[i]²)
///   scale = maxNorm / (norm + 1e-6)  if maxNorm &gt; 0 and norm &gt; maxNorm, else 1 (no change)
///   g_b  ← g_b · scale
/// The scale is therefore min(1, maxNorm/(norm + ε)) except in the sliver norm ∈ (maxNorm − ε, maxNorm], where the
/// optimizer leaves the gradients untouched; every version here follows the optimizer.
/// </summary>
public static partial class GradNorm
{
    /// <summary>ε added to the norm before dividing, as the optimizer does.</summary>
    public const double Epsilon = 1e-6;

    /// <summary>The clip factor for a norm, exactly as the optimizer computes it (double, rounded to f32).</summary>
    public static float ClipScale(double norm, double maxNorm) =>
        maxNorm > 0 && norm > maxNorm ? (float)(maxNorm / (norm + Epsilon)) : 1f;

    /// <summary>The definition of the norm: the sum of squares in double over every buffer.</summary>
    public static double NormReference(IReadOnlyList<float[]> grads)
    {
        double sum = 0;
        foreach (var g in grads)
            foreach (float x in g) sum += (double)x * x;
        return Math.Sqrt(sum);
    }

    /// <summary>The definition of clipping: scales every buffer in place and returns the norm before clipping.</summary>
    public static double ClipReference(IReadOnlyList<float[]> grads, double maxNorm)
    {
        double norm = NormReference(grads);
        float scale = ClipScale(norm, maxNorm);
        if (scale != 1f)
            foreach (var g in grads)
                for (int i = 0; i < g.Length; i++) g[i] *= scale;
        return norm;
    }
}

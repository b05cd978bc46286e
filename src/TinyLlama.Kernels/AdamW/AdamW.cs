namespace TinyLlama.Kernels;

/// <summary>
/// One AdamW step (Loshchilov &amp; Hutter, decoupled weight decay), in PyTorch's order of operations, for the
/// elements of one parameter. With t the 1-based step, b1 = 1 − β1ᵗ, b2 = 1 − β2ᵗ:
///   p ← p · (1 − lr·wd)
///   m ← β1·m + (1 − β1)·g
///   v ← β2·v + (1 − β2)·g²
///   p ← p − (lr / b1) · m / (√v / √b2 + ε)
/// </summary>
public static partial class AdamW
{
    /// <summary>The definition, one element at a time in double.</summary>
    public static void StepReference(Span<float> param, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        Check(param, grad, m, v, step);
        double b1 = 1 - Math.Pow(beta1, step), b2 = 1 - Math.Pow(beta2, step);
        for (int i = 0; i < param.Length; i++)
        {
            double p = param[i] * (1.0 - (double)lr * weightDecay);
            double mi = beta1 * (double)m[i] + (1.0 - beta1) * grad[i];
            double vi = beta2 * (double)v[i] + (1.0 - beta2) * grad[i] * (double)grad[i];
            p -= lr / b1 * mi / (Math.Sqrt(vi) / Math.Sqrt(b2) + eps);
            (param[i], m[i], v[i]) = ((float)p, (float)mi, (float)vi);
        }
    }

    private static void Check(Span<float> param, ReadOnlySpan<float> grad, Span<float> m, Span<float> v, int step)
    {
        if (grad.Length != param.Length || m.Length != param.Length || v.Length != param.Length)
            throw new ArgumentException($"AdamW.Step: lengths differ: param {param.Length}, grad {grad.Length}, m {m.Length}, v {v.Length}");
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"AdamW.Step: step {step}; expected ≥ 1 (bias correction uses 1 − βᵗ)");
    }
}

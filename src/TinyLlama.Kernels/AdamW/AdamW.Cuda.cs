using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// The per-step constants of <see cref="AdamW.Step"/>, computed on the host exactly as the CPU version computes them
/// (decay = 1 − lr·wd, stepSize = lr/(1 − β1ᵗ), invSqrtB2 = 1/√(1 − β2ᵗ), in double, rounded to f32), so the GPU does
/// the same f32 arithmetic per element.
/// </summary>
public struct AdamWConstants
{
    public float Decay;
    public float Beta1;
    public float OneMinusBeta1;
    public float Beta2;
    public float OneMinusBeta2;
    public float Eps;
    public float StepSize;
    public float InvSqrtB2;

    public static AdamWConstants Create(float lr, float beta1, float beta2, float eps, float weightDecay, int step) => new()
    {
        Decay = (float)(1.0 - (double)lr * weightDecay),
        Beta1 = beta1,
        OneMinusBeta1 = 1 - beta1,
        Beta2 = beta2,
        OneMinusBeta2 = 1 - beta2,
        Eps = eps,
        StepSize = (float)(lr / (1 - Math.Pow(beta1, step))),
        InvSqrtB2 = (float)(1 / Math.Sqrt(1 - Math.Pow(beta2, step))),
    };
}

/// <summary>
/// The fused AdamW step on the GPU: the math of <see cref="AdamW"/> (decoupled weight decay, bias correction, PyTorch's
/// order of operations) on f32 master weights and f32 moments, with an f32 or bf16 gradient. Every element:
///   g ← grad·s   (s = gradScale[0]: the clip factor of <see cref="GradNormGpu"/>, or 1)
///   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  p ← p·decay − stepSize·m / (√v·invSqrtB2 + ε)
/// and optionally the bf16 copy the model computes with, pBf16 ← round(p), in the same pass.
/// Layout: 1-D grid-stride, one element per thread per step; all streams coalesced.
/// Traffic per element: f32 grad 16 B read + 12 B written = 28 B; bf16 grad 14 + 12 = 26 B; the bf16 copy adds
/// 2 B written (30 / 28 B). Reading the clip factor from device memory avoids a separate scaling pass (8 B/element
/// for f32 gradients) and a host sync.
/// </summary>
public static class AdamWKernels
{
    /// <summary>The step without the bf16 copy.</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Step<TGrad, TGradElement>(ArrayView<float> param, ArrayView<TGrad> grad, ArrayView<float> m, ArrayView<float> v,
        ArrayView<float> gradScale, AdamWConstants k)
        where TGrad : unmanaged where TGradElement : struct, IGpuElement<TGrad>
    {
        float s = gradScale[0];
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < param.Length; i += stride)
            UpdateElement<TGrad, TGradElement>(param, grad, m, v, s, k, i);
    }

    /// <summary>The step that also writes the bf16 copy of the updated parameter.</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void StepWithCopy<TGrad, TGradElement>(ArrayView<float> param, ArrayView<TGrad> grad, ArrayView<float> m, ArrayView<float> v,
        ArrayView<float> gradScale, AdamWConstants k, ArrayView<ushort> paramBf16)
        where TGrad : unmanaged where TGradElement : struct, IGpuElement<TGrad>
    {
        float s = gradScale[0];
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < param.Length; i += stride)
            paramBf16[i] = default(Bf16Element).Narrow(UpdateElement<TGrad, TGradElement>(param, grad, m, v, s, k, i));
    }

    /// <summary>The step for element i, shared by both kernels: writes m[i], v[i], param[i]; returns the new parameter.</summary>
    static float UpdateElement<TGrad, TGradElement>(ArrayView<float> param, ArrayView<TGrad> grad, ArrayView<float> m,
        ArrayView<float> v, float gradScale, AdamWConstants k, long i)
        where TGrad : unmanaged where TGradElement : struct, IGpuElement<TGrad>
    {
        float g = default(TGradElement).Widen(grad[i]) * gradScale;
        float mi = k.Beta1 * m[i] + k.OneMinusBeta1 * g;
        float vi = k.Beta2 * v[i] + k.OneMinusBeta2 * g * g;
        float p = param[i] * k.Decay - k.StepSize * mi / (XSqrt(vi) * k.InvSqrtB2 + k.Eps);
        m[i] = mi;
        v[i] = vi;
        param[i] = p;
        return p;
    }

    /// <summary>IEEE square root (sqrt.rn.f32 on the GPU).</summary>
    static float XSqrt(float x) => MathF.Sqrt(x);
}

/// <summary>
/// Launches the fused AdamW step on one accelerator. Lengths and the step are checked before launch. Without a
/// gradScale view the gradient is used as is (an internal one-element buffer holding 1).
/// </summary>
public sealed class AdamWGpu
{
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWConstants> stepF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWConstants> stepBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWConstants, ArrayView<ushort>> copyF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWConstants, ArrayView<ushort>> copyBf16;
    readonly Accelerator accelerator;
    readonly MemoryBuffer1D<float, Stride1D.Dense> one;

    public AdamWGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        one = accelerator.Allocate1D([1f]);
        stepF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWConstants>(
            AdamWKernels.Step<float, F32Element>);
        stepBf16 = accelerator.LoadKernel<ArrayView<float>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWConstants>(
            AdamWKernels.Step<ushort, Bf16Element>);
        copyF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWConstants, ArrayView<ushort>>(
            AdamWKernels.StepWithCopy<float, F32Element>);
        copyBf16 = accelerator.LoadKernel<ArrayView<float>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWConstants, ArrayView<ushort>>(
            AdamWKernels.StepWithCopy<ushort, Bf16Element>);
    }

    /// <summary>
    /// One AdamW step of <paramref name="param"/> with an f32 gradient (same arguments as <see cref="AdamW.Step"/>).
    /// <paramref name="paramBf16"/>, when given (non-empty), receives the updated parameter rounded to bf16;
    /// <paramref name="gradScale"/>, when given, multiplies the gradient by gradScale[0] (the clip factor).
    /// </summary>
    public void Step(AcceleratorStream stream, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> m, ArrayView<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, int step,
        ArrayView<ushort> paramBf16 = default, ArrayView<float> gradScale = default)
    {
        var k = Check(param.Length, grad.Length, m.Length, v.Length, paramBf16.Length, lr, beta1, beta2, eps, weightDecay, step);
        if (param.Length == 0) return;
        ArrayView<float> scale = gradScale.Length > 0 ? gradScale.SubView(0, 1) : (ArrayView<float>)one.View;
        var config = GpuLaunch.Elementwise(accelerator, param.Length);
        if (paramBf16.Length > 0) copyF32(stream, config, param, grad, m, v, scale, k, paramBf16);
        else stepF32(stream, config, param, grad, m, v, scale, k);
    }

    /// <summary>One AdamW step with a bf16 gradient (widened exactly), f32 master weights and moments.</summary>
    public void Step(AcceleratorStream stream, ArrayView<float> param, ArrayView<ushort> grad, ArrayView<float> m, ArrayView<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, int step,
        ArrayView<ushort> paramBf16 = default, ArrayView<float> gradScale = default)
    {
        var k = Check(param.Length, grad.Length, m.Length, v.Length, paramBf16.Length, lr, beta1, beta2, eps, weightDecay, step);
        if (param.Length == 0) return;
        ArrayView<float> scale = gradScale.Length > 0 ? gradScale.SubView(0, 1) : (ArrayView<float>)one.View;
        var config = GpuLaunch.Elementwise(accelerator, param.Length);
        if (paramBf16.Length > 0) copyBf16(stream, config, param, grad, m, v, scale, k, paramBf16);
        else stepBf16(stream, config, param, grad, m, v, scale, k);
    }

    static AdamWConstants Check(long param, long grad, long m, long v, long copy,
        float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        const string op = "AdamWGpu.Step";
        KernelArgs.Length(op, "grad", grad, param, "param.Length");
        KernelArgs.Length(op, "m", m, param, "param.Length");
        KernelArgs.Length(op, "v", v, param, "param.Length");
        if (copy != 0) KernelArgs.Length(op, "paramBf16", copy, param, "param.Length");
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, $"{op}: step {step}; expected ≥ 1 (bias correction uses 1 − βᵗ)");
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, $"{op}: beta1 {beta1}; expected in [0, 1)");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, $"{op}: beta2 {beta2}; expected in [0, 1)");
        if (!float.IsFinite(lr) || !float.IsFinite(eps) || !float.IsFinite(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(lr), $"{op}: lr {lr}, eps {eps}, weightDecay {weightDecay}; expected finite");
        return AdamWConstants.Create(lr, beta1, beta2, eps, weightDecay, step);
    }
}

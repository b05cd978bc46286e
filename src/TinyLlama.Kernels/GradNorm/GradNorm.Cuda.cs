using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Global gradient norm and clipping on the GPU, deterministic and without atomics or a host sync:
///   1. per buffer b, <see cref="ReduceKernels.Partial{T, TElement}"/> with Σx² writes <see cref="GradNormGpu.PartialsPerBuffer"/>
///      f32 partial sums into partials[b·P .. b·P + P) (fixed grid, so the order of additions never changes);
///   2. <see cref="NormAndScale"/> (one group) sums all partials in a fixed order and writes result[0] = norm and
///      result[1] = the clip factor of <see cref="GradNorm.ClipScale"/>;
///   3. <see cref="Scale{T, TElement}"/> multiplies each buffer by result[1] (or AdamWGpu reads result[1] as its gradScale
///      and the gradients are never rewritten).
/// Traffic: pass 1 reads each gradient once (4 B f32, 2 B bf16 per element); pass 3 reads and writes it (8 / 4 B) but
/// returns at once when the factor is 1.
/// </summary>
public static class GradNormKernels
{
    /// <summary>
    /// result[0] = √(Σ partials), result[1] = maxNorm/(norm + 1e-6) when maxNorm &gt; 0 and norm &gt; maxNorm, else 1.
    /// Layout: one group; threads stride over the partials, then a group reduction (fixed order).
    /// </summary>
    [GpuKernel]
    public static void NormAndScale(ArrayView<float> partials, ArrayView<float> result, float maxNorm)
    {
        float acc = 0f;
        int n = (int)partials.Length;
        for (int i = Group.IdxX; i < n; i += Group.DimX) acc += partials[i];
        float total = GroupReduce.Sum(acc);
        if (Group.IdxX == 0)
        {
            double norm = Math.Sqrt(total);
            result[0] = (float)norm;
            result[1] = maxNorm > 0 && norm > maxNorm ? (float)(maxNorm / (norm + GradNorm.Epsilon)) : 1f;
        }
    }

    /// <summary>
    /// data[i] ← data[i]·factor[0] (f32 multiply, rounded once to the storage type); the whole grid returns at once
    /// when the factor is 1. Layout: 1-D grid-stride. Traffic: sizeof(T) read + sizeof(T) written per element.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Scale<T, TElement>(ArrayView<T> data, ArrayView<float> factor)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        float s = factor[0];
        if (s == 1f) return;
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < data.Length; i += stride)
            data[i] = default(TElement).Narrow(default(TElement).Widen(data[i]) * s);
    }
}

/// <summary>
/// Launches the global-norm clipping on one accelerator. The caller owns the partials buffer (length
/// buffers·<see cref="PartialsPerBuffer"/>) and the result buffer (2 floats: norm, clip factor), so calls on different
/// streams do not share scratch.
/// </summary>
public sealed class GradNormGpu
{
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int> partialF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<float>, int> partialBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, float> normAndScale;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>> scaleF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<float>> scaleBf16;
    readonly Accelerator accelerator;
    readonly int groupSize;

    public GradNormGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        PartialsPerBuffer = GpuLaunch.Elementwise(accelerator, long.MaxValue / 2).GridDim.X;
        groupSize = GroupReduce.GroupSize(accelerator);
        partialF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int>(ReduceKernels.Partial<float, F32Element>);
        partialBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<float>, int>(ReduceKernels.Partial<ushort, Bf16Element>);
        normAndScale = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, float>(GradNormKernels.NormAndScale);
        scaleF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>>(GradNormKernels.Scale<float, F32Element>);
        scaleBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<float>>(GradNormKernels.Scale<ushort, Bf16Element>);
    }

    /// <summary>Partial sums each gradient buffer contributes (the grid of the first pass): fixed per accelerator.</summary>
    public int PartialsPerBuffer { get; }

    /// <summary>Writes the Σx² partials of <paramref name="grad"/> into slot <paramref name="slot"/> of <paramref name="partials"/>.</summary>
    public void SumOfSquares(AcceleratorStream stream, ArrayView<float> grad, ArrayView<float> partials, int slot) =>
        partialF32(stream, PartialConfig, grad, Slot(partials, slot), ReduceKernels.OpSumOfSquares);

    public void SumOfSquares(AcceleratorStream stream, ArrayView<ushort> grad, ArrayView<float> partials, int slot) =>
        partialBf16(stream, PartialConfig, grad, Slot(partials, slot), ReduceKernels.OpSumOfSquares);

    /// <summary>result[0] = norm over the first <paramref name="buffers"/> slots of partials, result[1] = clip factor.</summary>
    public void NormAndScale(AcceleratorStream stream, ArrayView<float> partials, int buffers, ArrayView<float> result, float maxNorm)
    {
        const string op = "GradNormGpu.NormAndScale";
        KernelArgs.Positive(op, "buffers", buffers);
        KernelArgs.AtLeast(op, "partials", (int)Math.Min(partials.Length, int.MaxValue), (long)buffers * PartialsPerBuffer, "buffers·PartialsPerBuffer");
        KernelArgs.Length(op, "result", result.Length, 2, "2 (norm, clip factor)");
        if (float.IsNaN(maxNorm)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"{op}: maxNorm is NaN");
        normAndScale(stream, new KernelConfig(1, groupSize), partials.SubView(0, (long)buffers * PartialsPerBuffer), result, maxNorm);
    }

    /// <summary>grad ← grad·result[1] (a no-op pass when the factor is 1).</summary>
    public void Scale(AcceleratorStream stream, ArrayView<float> grad, ArrayView<float> result)
    {
        KernelArgs.Length("GradNormGpu.Scale", "result", result.Length, 2, "2 (norm, clip factor)");
        if (grad.Length > 0) scaleF32(stream, GpuLaunch.Elementwise(accelerator, grad.Length), grad, result.SubView(1, 1));
    }

    public void Scale(AcceleratorStream stream, ArrayView<ushort> grad, ArrayView<float> result)
    {
        KernelArgs.Length("GradNormGpu.Scale", "result", result.Length, 2, "2 (norm, clip factor)");
        if (grad.Length > 0) scaleBf16(stream, GpuLaunch.Elementwise(accelerator, grad.Length), grad, result.SubView(1, 1));
    }

    /// <summary>
    /// The whole clip over f32 and bf16 gradient buffers: partials, norm and factor into <paramref name="result"/>, then
    /// (when <paramref name="applyScale"/>) the scaling of every buffer. Pass applyScale = false to let AdamWGpu apply
    /// result[1] as its gradScale instead. partials needs (f32Grads.Count + bf16Grads.Count)·PartialsPerBuffer floats.
    /// </summary>
    public void Clip(AcceleratorStream stream, IReadOnlyList<ArrayView<float>> f32Grads, IReadOnlyList<ArrayView<ushort>> bf16Grads,
        ArrayView<float> partials, ArrayView<float> result, float maxNorm, bool applyScale = true)
    {
        int buffers = f32Grads.Count + bf16Grads.Count;
        const string op = "GradNormGpu.Clip";
        KernelArgs.Positive(op, "buffers", buffers);
        KernelArgs.AtLeast(op, "partials", (int)Math.Min(partials.Length, int.MaxValue), (long)buffers * PartialsPerBuffer, "buffers·PartialsPerBuffer");
        KernelArgs.Length(op, "result", result.Length, 2, "2 (norm, clip factor)");
        int slot = 0;
        foreach (var g in f32Grads) SumOfSquares(stream, g, partials, slot++);
        foreach (var g in bf16Grads) SumOfSquares(stream, g, partials, slot++);
        NormAndScale(stream, partials, buffers, result, maxNorm);
        if (!applyScale) return;
        foreach (var g in f32Grads) Scale(stream, g, result);
        foreach (var g in bf16Grads) Scale(stream, g, result);
    }

    KernelConfig PartialConfig => new(PartialsPerBuffer, groupSize);

    ArrayView<float> Slot(ArrayView<float> partials, int slot)
    {
        KernelArgs.NonNegative("GradNormGpu.SumOfSquares", "slot", slot);
        KernelArgs.AtLeast("GradNormGpu.SumOfSquares", "partials", (int)Math.Min(partials.Length, int.MaxValue),
            (long)(slot + 1) * PartialsPerBuffer, "(slot + 1)·PartialsPerBuffer");
        return partials.SubView((long)slot * PartialsPerBuffer, PartialsPerBuffer);
    }
}

using TinyLlama.Kernels;
using TinyLlama.Tensors;

namespace TinyLlama.Training.Optim;

/// <summary>
/// The optimizer's GPU half: global-norm clipping over every f32 gradient (one partial-sums pass per gradient, one
/// kernel for the norm and the clip factor, which never leaves the device, then each gradient scaled in place as
/// PyTorch's clip_grad_norm_ does, so .Grad reads the same on both devices) and the fused AdamW update. The host
/// reads back only the norm, for the log. (The update kernel could apply the factor as it reads the gradient and
/// save the scaling pass — about 1% of a TinyLlama step — at the price of .Grad meaning something else on a GPU.)
/// </summary>
internal sealed class GpuAdamW : IDisposable
{
    private readonly GpuDevice _device;
    private readonly Tensor _partials; // f32, one PartialsPerBuffer block per parameter
    private readonly Tensor _result;   // f32 (norm, clip factor)

    public GpuAdamW(IReadOnlyList<Tensor> parameters)
    {
        var first = parameters[0];
        _device = GpuDevices.Get(first.Device.Index);
        int per = _device.Kernels.Get<GradNormGpu>().PartialsPerBuffer;
        _partials = Tensor.Zeros([Math.Max(1, parameters.Count) * per], DType.F32, first.Device);
        _result = Tensor.Zeros([2], DType.F32, first.Device);
        TensorScope.Untrack(_partials);
        TensorScope.Untrack(_result);
        Parameters = parameters;
    }

    private IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The norm of all gradients (missing ones count as zero); the clip factor is left on the device for <see cref="Step"/>.</summary>
    public double ClipGradNorm(double maxNorm)
    {
        var grads = Parameters.Where(p => p.Grad is not null).Select(p => p.Grad!.AsGpuView<float>()).ToList();
        if (grads.Count == 0) return 0;
        // maxNorm 0 disables clipping: the kernel then writes the factor 1, and the scaling pass returns at once.
        _device.Kernels.Get<GradNormGpu>().Clip(_device.Stream, grads, [], _partials.AsGpuView<float>(), _result.AsGpuView<float>(), (float)maxNorm);
        return _result.ToArray<float>()[0];
    }

    /// <summary>One fused AdamW update of <paramref name="p"/> from its (already clipped) gradient.</summary>
    public void Step(Tensor p, Tensor m, Tensor v, double lr, AdamWOptions o, int step) =>
        _device.Kernels.Get<AdamWGpu>().Step(_device.Stream, p.AsGpuView<float>(), p.Grad!.AsGpuView<float>(), m.AsGpuView<float>(), v.AsGpuView<float>(),
            (float)lr, (float)o.Beta1, (float)o.Beta2, (float)o.Eps, (float)o.WeightDecay, step);

    public void Dispose()
    {
        _partials.Dispose();
        _result.Dispose();
    }
}

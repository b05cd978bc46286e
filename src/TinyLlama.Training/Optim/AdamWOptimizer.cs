using TinyLlama.Tensors;
using K = TinyLlama.Kernels;

namespace TinyLlama.Training.Optim;

/// <summary>Hyper-parameters of AdamW as TinyLlama used them.</summary>
public sealed record AdamWOptions
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.1;
}

/// <summary>
/// AdamW over a model's parameters with f32 moments (m, v). Weight decay applies to every parameter, as in
/// TinyLlama's pretraining script (nanoGPT and llm.c exempt 1-D tensors; TinyLlama did not).
/// The moments live where the parameters live: on a cuda device the global-norm clip and the update run as the fused
/// GPU kernels (<see cref="GpuAdamW"/>), reading back only the norm.
/// </summary>
public sealed class AdamWOptimizer : IDisposable
{
    private readonly (string Name, Tensor Param, Tensor M, Tensor V)[] _slots;

    public AdamWOptimizer(IEnumerable<(string Name, Tensor Parameter)> parameters, AdamWOptions options)
    {
        Options = options;
        _slots = parameters.Select(p =>
        {
            if (p.Parameter.DType != DType.F32)
                throw new ArgumentException($"AdamW: parameter '{p.Name}' has dtype {p.Parameter.DType.Name()}; the optimizer updates f32 (master) parameters");
            var m = Tensor.Zeros(p.Parameter.ShapeArray(), DType.F32, p.Parameter.Device);
            var v = Tensor.Zeros(p.Parameter.ShapeArray(), DType.F32, p.Parameter.Device);
            TensorScope.Untrack(m);
            TensorScope.Untrack(v);
            return (p.Name, p.Parameter, m, v);
        }).ToArray();
        var devices = _slots.Select(s => s.Param.Device).Distinct().ToList();
        if (devices.Count > 1)
            throw new ArgumentException($"AdamW: the parameters live on {string.Join(", ", devices)}; expected one device (move the model with model.To(device) first)");
        if (devices is [{ Kind: DeviceKind.Cuda }]) _gpu = new GpuAdamW(_slots.Select(s => s.Param).ToList());
    }

    private readonly GpuAdamW? _gpu;

    public AdamWOptions Options { get; }

    /// <summary>Updates taken so far (the t of the bias correction).</summary>
    public int StepCount { get; private set; }

    /// <summary>
    /// The global L2 norm of all gradients; when it exceeds <paramref name="maxNorm"/> (> 0) every gradient is scaled
    /// by maxNorm / norm. Returns the norm before clipping. A missing gradient counts as zero.
    /// </summary>
    public double ClipGradNorm(double maxNorm)
    {
        if (_gpu is not null) return _gpu.ClipGradNorm(maxNorm);
        double sumSquares = 0;
        foreach (var slot in _slots)
            if (slot.Param.Grad is { } g)
                sumSquares += System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(g.AsSpan<float>());
        double norm = Math.Sqrt(sumSquares);
        if (maxNorm > 0 && norm > maxNorm)
        {
            float scale = (float)(maxNorm / (norm + 1e-6));
            foreach (var slot in _slots)
                if (slot.Param.Grad is { } g)
                    System.Numerics.Tensors.TensorPrimitives.Multiply(g.AsSpan<float>(), scale, g.AsSpan<float>());
        }
        return norm;
    }

    /// <summary>One AdamW update of every parameter that has a gradient, at learning rate <paramref name="lr"/>.</summary>
    public void Step(double lr)
    {
        StepCount++;
        foreach (var (_, p, m, v) in _slots)
        {
            if (_gpu is not null)
            {
                if (p.Grad is not null) _gpu.Step(p, m, v, lr, Options, StepCount);
                continue;
            }
            if (p.Grad is null) continue;
            K.AdamW.Step(p.AsSpan<float>(), p.Grad.AsSpan<float>(), m.AsSpan<float>(), v.AsSpan<float>(),
                (float)lr, (float)Options.Beta1, (float)Options.Beta2, (float)Options.Eps, (float)Options.WeightDecay, StepCount);
        }
    }

    public void ZeroGrad()
    {
        foreach (var slot in _slots) slot.Param.ZeroGrad();
    }

    /// <summary>The moments, named as PyTorch's state ("exp_avg.NAME", "exp_avg_sq.NAME"), for checkpoints.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        foreach (var (name, _, m, v) in _slots)
        {
            yield return KeyValuePair.Create("exp_avg." + name, m);
            yield return KeyValuePair.Create("exp_avg_sq." + name, v);
        }
    }

    /// <summary>Restores the moments and the step count written by <see cref="StateTensors"/>.</summary>
    public void LoadState(Func<string, int[], Tensor> read, int stepCount)
    {
        foreach (var (name, p, m, v) in _slots)
        {
            using var ms = read("exp_avg." + name, p.ShapeArray());
            using var vs = read("exp_avg_sq." + name, p.ShapeArray());
            m.CopyFrom(ms);
            v.CopyFrom(vs);
        }
        StepCount = stepCount;
    }

    public void Dispose()
    {
        _gpu?.Dispose();
        foreach (var slot in _slots)
        {
            slot.M.Dispose();
            slot.V.Dispose();
        }
    }
}

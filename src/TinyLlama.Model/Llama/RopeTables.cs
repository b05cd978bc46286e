using TinyLlama.Tensors;

namespace TinyLlama.Model;

/// <summary>The model's cos/sin tables, (T, Hs/2) each, computed once in double and stored as f32.</summary>
public sealed class RopeTables : IDisposable
{
    public RopeTables(LlamaConfig config)
    {
        (Cos, Sin) = Functional.RopeTables(config.MaxSeqLen, config.HeadSize, config.RopeTheta);
        TensorScope.Untrack(Cos);
        TensorScope.Untrack(Sin);
    }

    public Tensor Cos { get; }
    public Tensor Sin { get; }

    /// <summary>Moves both tables to <paramref name="device"/> (they stay f32: the GPU RoPE kernel reads f32 tables for any activation dtype).</summary>
    public void MoveTo(Device device)
    {
        Cos.MoveTo(device);
        Sin.MoveTo(device);
    }

    public void Dispose()
    {
        Cos.Dispose();
        Sin.Dispose();
    }
}

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

    public void Dispose()
    {
        Cos.Dispose();
        Sin.Dispose();
    }
}

using TinyLlama.Tensors;
using TinyLlama.Tensors.Modules;

namespace TinyLlama.Model;

/// <summary>The SwiGLU MLP: down(SiLU(gate(x)) ⊙ up(x)).</summary>
public sealed class LlamaMlp : Module
{
    public LlamaMlp(LlamaConfig config, Random rng, double std, double outputStd)
    {
        int c = config.HiddenSize, i = config.IntermediateSize;
        GateProj = RegisterModule("gate_proj", new Linear(c, i, rng: rng, std: std));
        UpProj = RegisterModule("up_proj", new Linear(c, i, rng: rng, std: std));
        DownProj = RegisterModule("down_proj", new Linear(i, c, rng: rng, std: outputStd));
    }

    public Linear GateProj { get; }
    public Linear UpProj { get; }
    public Linear DownProj { get; }

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public Tensor Forward(Tensor x) => DownProj.Forward(Functional.SwiGlu(GateProj.Forward(x), UpProj.Forward(x)));
}

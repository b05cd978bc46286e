namespace TinyLlama.Training.Run;

/// <summary>What a <c>train</c> command asks for, beyond the optimisation options.</summary>
public sealed record RunSettings
{
    /// <summary>Model shape: a preset name (tiny, nano, small, tinyllama-1.1b); ignored with <see cref="InitFrom"/>.</summary>
    public string Preset { get; init; } = "tiny";

    /// <summary>Packed data: folders, files or globs of LITPKDS files. Empty: the embedded corpus, prepared on first use.</summary>
    public IReadOnlyList<string> Data { get; init; } = [];

    /// <summary>Mixing weights of <see cref="Data"/>, one per source; null: equal weights.</summary>
    public IReadOnlyList<double>? DataWeights { get; init; }

    /// <summary>Validation data; default: the validation_* files beside the training data.</summary>
    public string? ValidationData { get; init; }

    /// <summary>tokenizer.json / tokenizer.model; default: trained on the embedded corpus (or taken from --init-from).</summary>
    public string? Tokenizer { get; init; }

    public string Out { get; init; } = Path.Combine("runs", "default");

    /// <summary>Continue from a Hugging Face model folder (weights and config).</summary>
    public string? InitFrom { get; init; }

    public bool Resume { get; init; }

    /// <summary>cpu, cuda, cuda:N, or cuda-sim (the simulated device: the GPU code path on the CPU, tiny models only).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Activation dtype: f32, or bf16 (mixed precision: f32 master weights and optimizer state, bf16 activations and
    /// matmul inputs, f32 loss). Null: bf16 on a GPU, f32 on the CPU (whose ops run in f32 and f64 only).
    /// </summary>
    public string? Precision { get; init; }

    /// <summary>Recompute each decoder layer in backward instead of keeping its activations (see LlamaForCausalLM.ActivationCheckpointing).</summary>
    public bool ActivationCheckpointing { get; init; }

    /// <summary>Samples generated at the end of the run.</summary>
    public int Samples { get; init; } = 3;
}

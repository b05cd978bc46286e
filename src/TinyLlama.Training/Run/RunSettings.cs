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

    public string Device { get; init; } = "cpu";

    /// <summary>Samples generated at the end of the run.</summary>
    public int Samples { get; init; } = 3;
}

namespace TinyLlama.Model;

/// <summary>Named model shapes: TinyLlama-1.1B itself and smaller ones that train on a CPU.</summary>
public static class LlamaPresets
{
    /// <summary>TinyLlama-1.1B (lit-gpt "tiny_LLaMA_1b"): 1,100,048,384 parameters.</summary>
    public static LlamaConfig TinyLlama1B { get; } = new()
    {
        VocabSize = 32000, HiddenSize = 2048, IntermediateSize = 5632, NumLayers = 22,
        NumHeads = 32, NumKvHeads = 4, MaxSeqLen = 2048,
    };

    /// <summary>The CPU training preset: 5.0M parameters, trains in minutes on 2 cores.</summary>
    public static LlamaConfig Tiny { get; } = new()
    {
        VocabSize = 4096, HiddenSize = 256, IntermediateSize = 688, NumLayers = 4,
        NumHeads = 8, NumKvHeads = 4, MaxSeqLen = 256,
    };

    /// <summary>A 125M model with the Llama-2 vocabulary (GPT-2-small sized).</summary>
    public static LlamaConfig Small { get; } = new()
    {
        VocabSize = 32000, HiddenSize = 768, IntermediateSize = 2048, NumLayers = 12,
        NumHeads = 12, NumKvHeads = 4, MaxSeqLen = 1024,
    };

    /// <summary>For tests and quick experiments: runs in milliseconds.</summary>
    public static LlamaConfig Nano { get; } = new()
    {
        VocabSize = 512, HiddenSize = 64, IntermediateSize = 176, NumLayers = 2,
        NumHeads = 4, NumKvHeads = 2, MaxSeqLen = 128,
    };

    public static IReadOnlyDictionary<string, LlamaConfig> All { get; } = new Dictionary<string, LlamaConfig>
    {
        ["tinyllama-1.1b"] = TinyLlama1B,
        ["small"] = Small,
        ["tiny"] = Tiny,
        ["nano"] = Nano,
    };

    public static LlamaConfig Get(string name) =>
        All.TryGetValue(name, out var config)
            ? config
            : throw new ArgumentException($"preset '{name}' is not known; expected one of: {string.Join(", ", All.Keys)}");
}

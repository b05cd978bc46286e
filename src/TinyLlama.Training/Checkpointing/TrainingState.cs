using System.Text.Json;
using System.Text.Json.Serialization;
using TinyLlama.Data.Packed;

namespace TinyLlama.Training.Checkpointing;

/// <summary>The small part of a checkpoint: counters, the data sampler's position and what the run was.</summary>
public sealed record TrainingState
{
    public const int FormatVersion = 1;

    [JsonPropertyName("format_version")] public int Version { get; init; } = FormatVersion;
    [JsonPropertyName("step")] public int Step { get; init; }
    [JsonPropertyName("tokens")] public long Tokens { get; init; }
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }
    [JsonPropertyName("optimizer_steps")] public int OptimizerSteps { get; init; }
    [JsonPropertyName("sampler")] public required SamplerState Sampler { get; init; }
    /// <summary>The model's config.json text, compared on resume.</summary>
    [JsonPropertyName("model_config")] public required string ModelConfigJson { get; init; }
    /// <summary>The options that decide the computation, compared on resume.</summary>
    [JsonPropertyName("options")] public required TrainOptions Options { get; init; }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TrainingState FromJson(string json, string source)
    {
        try
        {
            var state = JsonSerializer.Deserialize<TrainingState>(json, Json) ?? throw new InvalidDataException($"{source}: empty");
            if (state.Version != FormatVersion)
                throw new InvalidDataException($"{source}: format_version {state.Version}; this build reads version {FormatVersion}");
            return state;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid training state: {e.Message}", e);
        }
    }
}

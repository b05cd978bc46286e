using System.Text.Json;
using System.Text.Json.Serialization;

namespace TinyLlama.Data.Packed;

/// <summary>
/// Everything a <see cref="BlockSampler"/> needs to continue exactly where it stopped: a few counters, not a
/// list of consumed batches. It is the same on every rank (each rank advances the counters for the whole
/// global batch), so rank 0 can save it with the checkpoint.
/// </summary>
public sealed record SamplerState
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public ulong Seed { get; init; }
    /// <summary>Batches drawn so far (training steps, counted in micro-batches per rank).</summary>
    public long Step { get; init; }
    /// <summary>Global samples drawn so far, over all ranks.</summary>
    public long GlobalSample { get; init; }
    /// <summary>Blocks taken from each source so far, over all epochs and all ranks.</summary>
    public long[] SourceDraws { get; init; } = [];
    /// <summary>Blocks in each source when the state was taken; resuming on other data is refused.</summary>
    public long[] SourceBlocks { get; init; } = [];
    /// <summary>Mixing weights when the state was taken.</summary>
    public double[] Weights { get; init; } = [];

    /// <summary>The epoch each source is in (a source reshuffles when it is exhausted).</summary>
    [JsonIgnore]
    public long[] Epochs => SourceDraws.Select((d, i) => SourceBlocks[i] > 0 ? d / SourceBlocks[i] : 0).ToArray();

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static SamplerState FromJson(string json)
    {
        SamplerState? state;
        try
        {
            state = JsonSerializer.Deserialize<SamplerState>(json, Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"sampler state is not valid JSON: {e.Message}", e);
        }
        if (state is null)
            throw new InvalidDataException("sampler state is empty");
        state.Validate();
        return state;
    }

    internal void Validate()
    {
        if (Format != CurrentFormat)
            throw new InvalidDataException($"sampler state format {Format} is not supported (expected {CurrentFormat})");
        if (SourceDraws is null || SourceBlocks is null || Weights is null)
            throw new InvalidDataException("sampler state lacks SourceDraws, SourceBlocks or Weights");
        if (SourceDraws.Length == 0 || SourceDraws.Length != SourceBlocks.Length || SourceDraws.Length != Weights.Length)
            throw new InvalidDataException(
                $"sampler state has {SourceDraws.Length} draw counters, {SourceBlocks.Length} source sizes and " +
                $"{Weights.Length} weights; they must be equal and non-zero");
        if (Step < 0 || GlobalSample < 0 || SourceDraws.Any(d => d < 0))
            throw new InvalidDataException("sampler state has a negative counter");
        if (SourceDraws.Sum() != GlobalSample)
            throw new InvalidDataException(
                $"sampler state is inconsistent: the source draws sum to {SourceDraws.Sum()}, not {GlobalSample}");
    }
}

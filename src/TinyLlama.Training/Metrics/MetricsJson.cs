using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace TinyLlama.Training.Metrics;

/// <summary>
/// The line format of <c>metrics.jsonl</c>: one flat JSON object per line,
/// <c>{"step":1,"loss":…,"lr":…,"grad_norm":…,"tokens_per_s":…,"elapsed_s":…,"tokens":…}</c> for a training
/// step and <c>{"step":…,"val_loss":…,"val_ppl":…}</c> for a validation pass.
/// </summary>
/// <remarks>
/// JSON has no NaN or infinity, but a diverging run is exactly the one whose log matters, so non-finite
/// values are written as the strings <c>"NaN"</c>, <c>"Infinity"</c> and <c>"-Infinity"</c> (what
/// System.Text.Json and Python's json module call named floating-point literals) and read back as numbers.
/// </remarks>
internal static class MetricsJson
{
    public static byte[] Line(StepMetrics m) => Line(json =>
    {
        json.WriteNumber("step", m.Step);
        WriteDouble(json, "loss", m.Loss);
        WriteDouble(json, "lr", m.LearningRate);
        WriteDouble(json, "grad_norm", m.GradNorm);
        WriteDouble(json, "tokens_per_s", m.TokensPerSecond);
        WriteDouble(json, "elapsed_s", m.ElapsedSeconds);
        json.WriteNumber("tokens", m.Tokens);
    });

    public static byte[] Line(ValidationMetrics m) => Line(json =>
    {
        json.WriteNumber("step", m.Step);
        WriteDouble(json, "val_loss", m.Loss);
        // Derived, but it is the number people look for when they read the log by eye.
        WriteDouble(json, "val_ppl", m.Perplexity);
    });

    /// <summary>Parses one line: a <see cref="StepMetrics"/>, a <see cref="ValidationMetrics"/>, or null for
    /// an object of neither kind (lines a later version may add). Throws <see cref="JsonException"/> or
    /// <see cref="FormatException"/> on malformed input.</summary>
    public static object? Parse(ReadOnlyMemory<byte> line)
    {
        // Parse, not ParseValue: the whole line must be one object, so two lines run together are an error.
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new FormatException($"expected a JSON object, found {root.ValueKind}");
        if (root.TryGetProperty("val_loss", out var valLoss))
            return new ValidationMetrics(Int(root, "step"), Double(valLoss, "val_loss"));
        if (!root.TryGetProperty("loss", out var loss))
            return null;
        return new StepMetrics(
            Int(root, "step"),
            Double(loss, "loss"),
            Double(Field(root, "lr"), "lr"),
            Double(Field(root, "grad_norm"), "grad_norm"),
            Double(Field(root, "tokens_per_s"), "tokens_per_s"),
            Double(Field(root, "elapsed_s"), "elapsed_s"),
            Long(root, "tokens"));
    }

    /// <summary>The step of a line, without interpreting the rest; null when it has none.</summary>
    public static int? StepOf(ReadOnlyMemory<byte> line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("step", out _)
            ? Int(document.RootElement, "step")
            : null;
    }

    private static byte[] Line(Action<Utf8JsonWriter> writeFields)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            writeFields(json);
            json.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteDouble(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
            json.WriteNumber(name, value);
        else
            json.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
    }

    private static JsonElement Field(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) ? value : throw new FormatException($"missing field \"{name}\"");

    private static int Int(JsonElement root, string name)
    {
        var value = Field(root, name);
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result) ? result : throw Expected(name, "an integer");
    }

    private static long Long(JsonElement root, string name)
    {
        var value = Field(root, name);
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long result) ? result : throw Expected(name, "an integer");
    }

    private static double Double(JsonElement value, string name) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String => value.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            _ => throw Expected(name, "a number, \"NaN\", \"Infinity\" or \"-Infinity\""),
        },
        _ => throw Expected(name, "a number"),
    };

    private static FormatException Expected(string name, string what) => new($"field \"{name}\": expected {what}");
}

using System.Text.Json;

namespace TinyLlama.Training.Run;

/// <summary>
/// Keeps runs apart: an output folder that holds another run's checkpoints is refused (nothing there is overwritten)
/// unless the command asks to resume it with the same settings.
/// </summary>
internal static class RunGuard
{
    private const string FileName = "run.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private sealed record Saved(RunSettings Settings, TrainOptions Options);

    public static void Check(string outDir, RunSettings settings, bool hasCheckpoints)
    {
        string path = Path.Combine(outDir, FileName);
        if (!hasCheckpoints) return;
        if (!settings.Resume)
            throw new IOException($"{outDir} holds a run with checkpoints; pass --resume to continue it, or choose another --out (nothing was changed)");
        if (!File.Exists(path)) return;
        var saved = JsonSerializer.Deserialize<Saved>(File.ReadAllText(path), Json);
        if (saved is not null && saved.Settings.Preset != settings.Preset && settings.InitFrom is null)
            throw new IOException($"{outDir} holds a run of preset '{saved.Settings.Preset}'; this command asks for '{settings.Preset}' (nothing was changed)");
    }

    public static void Save(string outDir, RunSettings settings, TrainOptions options) =>
        File.WriteAllText(Path.Combine(outDir, FileName), JsonSerializer.Serialize(new Saved(settings with { Resume = false }, options), Json));
}

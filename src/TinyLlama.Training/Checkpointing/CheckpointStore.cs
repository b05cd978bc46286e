using System.Globalization;
using TinyLlama.Model;
using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;
using TinyLlama.Training.Optim;

namespace TinyLlama.Training.Checkpointing;

/// <summary>
/// Training checkpoints under <c>OUT/checkpoints/step-NNNNNNNN/</c>: <c>model.safetensors</c> (HF names, f32),
/// <c>optimizer.safetensors</c> (AdamW moments) and <c>state.json</c>. A checkpoint is written into a temporary
/// folder, every file flushed to disk, then the folder is renamed into place, so a crash or a kill mid-write never
/// leaves a half checkpoint under a final name. Only the last N are kept.
/// </summary>
public sealed class CheckpointStore(string root, int keepLast)
{
    private const string Prefix = "step-";

    public string Root { get; } = root;

    public string PathOf(int step) => Path.Combine(Root, Prefix + step.ToString("D8", CultureInfo.InvariantCulture));

    /// <summary>Complete checkpoints, oldest first (temporary folders are ignored).</summary>
    public IReadOnlyList<(int Step, string Path)> List()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.GetDirectories(Root)
            .Select(d => (Name: System.IO.Path.GetFileName(d), Path: d))
            .Where(d => d.Name.StartsWith(Prefix, StringComparison.Ordinal) && d.Name.Length == Prefix.Length + 8
                        && File.Exists(System.IO.Path.Combine(d.Path, "state.json")))
            .Select(d => (int.Parse(d.Name.AsSpan(Prefix.Length), CultureInfo.InvariantCulture), d.Path))
            .OrderBy(d => d.Item1)
            .ToList();
    }

    public (int Step, string Path)? Latest() => List() is { Count: > 0 } all ? all[^1] : null;

    public string Save(LlamaForCausalLM model, AdamWOptimizer optimizer, TrainingState state)
    {
        Directory.CreateDirectory(Root);
        string final = PathOf(state.Step);
        string temporary = final + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            Directory.CreateDirectory(temporary);
            using (var weights = OnHost(model.NamedParameters().Select(p => KeyValuePair.Create(p.Name, p.Parameter))))
                CheckpointReader.Write(temporary, weights.Tensors);
            using (var moments = OnHost(optimizer.StateTensors()))
                SafetensorsWriter.Write(Path.Combine(temporary, "optimizer.safetensors"), moments.Tensors);
            WriteDurably(Path.Combine(temporary, "state.json"), state.ToJson());
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true); // a re-run of the same step
            Directory.Move(temporary, final);
        }
        finally
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        }
        Prune();
        return final;
    }

    /// <summary>Reads a checkpoint into the model and optimizer (shapes checked) and returns its state.</summary>
    public static TrainingState Load(string folder, LlamaForCausalLM model, AdamWOptimizer optimizer)
    {
        string statePath = Path.Combine(folder, "state.json");
        if (!File.Exists(statePath)) throw new FileNotFoundException($"{folder}: not a training checkpoint (no state.json)");
        var state = TrainingState.FromJson(File.ReadAllText(statePath), statePath);
        using (var weights = CheckpointReader.Open(folder))
        using (GradMode.NoGrad())
        {
            foreach (var (name, p) in model.NamedParameters())
            {
                using var value = weights.ReadExpected(name, p.ShapeArray(), DType.F32);
                p.CopyFrom(value); // an upload when the model lives on a GPU
            }
        }
        using (var moments = SafetensorsFile.Open(Path.Combine(folder, "optimizer.safetensors")))
            optimizer.LoadState((name, shape) => ReadExpected(moments, name, shape), state.OptimizerSteps);
        return state;
    }

    /// <summary>The tensors as host tensors for the writers: cpu ones as they are, cuda ones downloaded (and freed after).</summary>
    private static HostCopies OnHost(IEnumerable<KeyValuePair<string, Tensor>> tensors) => new(tensors.ToList());

    private sealed class HostCopies(List<KeyValuePair<string, Tensor>> source) : IDisposable
    {
        private readonly List<Tensor> _downloaded = [];

        private List<KeyValuePair<string, Tensor>>? _tensors;

        // Downloaded once, on first use (a writer may enumerate twice: header, then data).
        public IEnumerable<KeyValuePair<string, Tensor>> Tensors => _tensors ??= source.Select(kv =>
        {
            if (kv.Value.Device.Kind == DeviceKind.Cpu) return kv;
            Tensor host;
            using (GradMode.NoGrad()) host = kv.Value.To(Device.Cpu);
            _downloaded.Add(host);
            return KeyValuePair.Create(kv.Key, host);
        }).ToList();

        public void Dispose()
        {
            foreach (var t in _downloaded) t.Dispose();
        }
    }

    private static Tensor ReadExpected(SafetensorsFile file, string name, int[] shape)
    {
        if (!file.Contains(name)) throw new InvalidDataException($"{file.Path}: tensor '{name}' is missing");
        var t = file.Read(name, DType.F32);
        if (!t.Shape.SequenceEqual(shape))
        {
            string actual = t.ShapeText;
            t.Dispose();
            throw new InvalidDataException($"{file.Path}: tensor '{name}' has shape {actual}; the model expects {Shapes.Format(shape)}");
        }
        return t;
    }

    private void Prune()
    {
        var all = List();
        for (int i = 0; i < all.Count - keepLast; i++) Directory.Delete(all[i].Path, recursive: true);
    }

    private static void WriteDurably(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }
}

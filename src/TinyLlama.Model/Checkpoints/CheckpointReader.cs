using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// A Hugging Face checkpoint folder: either one <c>model.safetensors</c>, or <c>model.safetensors.index.json</c>
/// and the shards its weight_map names. Names are the HF ones (<c>model.layers.0.self_attn.q_proj.weight</c>, ...),
/// so TinyLlama's published checkpoint loads as it is. Open validates every file header and the index up front.
/// </summary>
public sealed class CheckpointReader : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _fileOf;
    private readonly string _describedBy;

    private CheckpointReader(string folder, string describedBy, List<SafetensorsFile> files, List<KeyValuePair<string, SafetensorsFile>> tensors)
    {
        Folder = folder;
        _describedBy = describedBy;
        _files = files;
        _fileOf = tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        Names = tensors.Select(kv => kv.Key).ToArray();
    }

    public string Folder { get; }

    /// <summary>True when the folder holds an index and shards.</summary>
    public bool IsSharded => _describedBy.EndsWith(IndexFileName, StringComparison.Ordinal);

    /// <summary>The safetensors files, in shard order (one file when not sharded).</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>Tensor names: header order for one file, weight_map order for shards.</summary>
    public IReadOnlyList<string> Names { get; }

    public static CheckpointReader Open(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such checkpoint folder");
        string single = Path.Combine(folder, SingleFileName), index = Path.Combine(folder, IndexFileName);
        bool hasSingle = File.Exists(single), hasIndex = File.Exists(index);
        if (hasSingle && hasIndex)
            throw new CheckpointFormatException(folder, null, $"holds both {SingleFileName} and {IndexFileName}; it is unclear which is the checkpoint, remove the stale one");
        if (!hasSingle && !hasIndex)
            throw new CheckpointFormatException(folder, null, $"holds neither {SingleFileName} nor {IndexFileName}: not a Hugging Face safetensors checkpoint");
        return hasSingle ? OpenSingle(folder, single) : OpenSharded(folder, index);
    }

    private static CheckpointReader OpenSingle(string folder, string path)
    {
        var file = SafetensorsFile.Open(path);
        return new CheckpointReader(folder, path, [file], file.Names.Select(n => new KeyValuePair<string, SafetensorsFile>(n, file)).ToList());
    }

    private static CheckpointReader OpenSharded(string folder, string indexPath)
    {
        var index = CheckpointIndex.Read(indexPath);
        var files = new List<SafetensorsFile>();
        var byShard = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            var tensors = new List<KeyValuePair<string, SafetensorsFile>>();
            foreach (var (tensor, shard) in index.WeightMap)
            {
                if (!byShard.TryGetValue(shard, out var file))
                {
                    string shardPath = Path.Combine(folder, shard);
                    if (!File.Exists(shardPath))
                        throw new CheckpointFormatException(indexPath, tensor, $"is mapped to shard '{shard}', which does not exist in {folder}");
                    file = SafetensorsFile.Open(shardPath);
                    files.Add(file);
                    byShard.Add(shard, file);
                }
                if (!file.Contains(tensor))
                    throw new CheckpointFormatException(indexPath, tensor, $"is mapped to shard '{shard}', but that shard does not hold it");
                tensors.Add(new(tensor, file));
            }
            return new CheckpointReader(folder, indexPath, files, tensors);
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _fileOf.ContainsKey(name);

    /// <summary>The file holding <paramref name="name"/>.</summary>
    public SafetensorsFile FileOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _fileOf.TryGetValue(name, out var file)
            ? file
            : throw new CheckpointFormatException(_describedBy, name, IsSharded ? "is missing from the weight_map" : $"is missing (the file holds {Names.Count} tensors)");
    }

    public SafetensorsEntry GetEntry(string name) => FileOf(name).GetEntry(name);

    public int[] Shape(string name) => (int[])GetEntry(name).Shape.Clone();

    public string DTypeName(string name) => GetEntry(name).DTypeName;

    /// <inheritdoc cref="SafetensorsFile.Read"/>
    public Tensor Read(string name, DType? dtype = null) => FileOf(name).Read(name, dtype);

    /// <summary>
    /// Reads a parameter the model config dictates the shape of; a missing tensor or a different shape is a
    /// <see cref="CheckpointFormatException"/> naming the file, the tensor and both shapes.
    /// </summary>
    public Tensor ReadExpected(string name, int[] expectedShape, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(expectedShape);
        var file = FileOf(name);
        var entry = file.GetEntry(name);
        if (!entry.Shape.AsSpan().SequenceEqual(expectedShape))
            throw new CheckpointFormatException(file.Path, name,
                $"wrong shape for the config: the file holds {entry.ShapeText}, the model expects {Shapes.Format(expectedShape)}");
        return file.Read(name, dtype);
    }

    /// <inheritdoc cref="CheckpointWriter.Write(string, IEnumerable{KeyValuePair{string, Tensor}}, long)"/>
    public static void Write(string folder, IEnumerable<KeyValuePair<string, Tensor>> tensors, long maxShardBytes = CheckpointWriter.DefaultMaxShardBytes) =>
        CheckpointWriter.Write(folder, tensors, maxShardBytes);

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }

    public override string ToString() => $"CheckpointReader({_describedBy}, {Names.Count} tensors in {_files.Count} file(s))";
}

using System.Collections.ObjectModel;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// Writes a Hugging Face checkpoint folder: <c>model.safetensors</c> when everything fits in one shard, else
/// <c>model-00001-of-0000N.safetensors</c> ... plus <c>model.safetensors.index.json</c>. Every file is written
/// to a temporary name and flushed first; only when all shards are complete are they renamed into place, and the
/// index last, so an interrupted write never leaves a folder that reads as a different checkpoint. Files of a
/// previous checkpoint in the folder that the new one does not use are removed afterwards, so a reader never
/// finds two checkpoints.
/// </summary>
public static class CheckpointWriter
{
    /// <summary>transformers' default shard size ("5GB", in decimal units).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>Metadata transformers expects in every safetensors file it loads.</summary>
    public static readonly IReadOnlyDictionary<string, string> HuggingFaceMetadata =
        new ReadOnlyDictionary<string, string>(new Dictionary<string, string> { ["format"] = "pt" });

    /// <summary>
    /// Writes tensors in the order given, starting a new shard whenever the next tensor would take the current one
    /// past <paramref name="maxShardBytes"/> (a tensor larger than that gets a shard of its own).
    /// </summary>
    public static void Write(string folder, IEnumerable<KeyValuePair<string, Tensor>> tensors, long maxShardBytes = DefaultMaxShardBytes)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        WritePending(folder, tensors.Select(kv => PendingTensor.FromTensor(kv.Key, kv.Value)), maxShardBytes);
    }

    /// <summary>As <see cref="Write(string, IEnumerable{KeyValuePair{string, Tensor}}, long)"/>, for tensors produced at write time.</summary>
    public static void WritePending(string folder, IEnumerable<PendingTensor> tensors, long maxShardBytes = DefaultMaxShardBytes)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        var shards = new List<List<PendingTensor>> { new() };
        long bytes = 0;
        foreach (var tensor in tensors)
        {
            if (shards[^1].Count > 0 && bytes + tensor.ByteLength > maxShardBytes)
            {
                shards.Add([]);
                bytes = 0;
            }
            shards[^1].Add(tensor);
            bytes += tensor.ByteLength;
        }
        WriteShards(folder, shards);
    }

    /// <summary>Writes the given grouping as it is: one group is a single file, more are shards with an index.</summary>
    public static void WriteShards(string folder, IReadOnlyList<IReadOnlyList<PendingTensor>> shards)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(shards);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in shards.SelectMany(s => s))
            if (!names.Add(tensor.Name)) throw new ArgumentException($"tensor '{tensor.Name}' is given twice");

        Directory.CreateDirectory(folder);
        var previous = PreviousCheckpointFiles(folder);
        var fileNames = shards.Count <= 1
            ? [CheckpointReader.SingleFileName]
            : Enumerable.Range(1, shards.Count).Select(i => $"model-{i:D5}-of-{shards.Count:D5}.safetensors").ToList();

        var temporaries = new List<string>();
        try
        {
            for (int i = 0; i < fileNames.Count; i++)
            {
                var group = shards.Count == 0 ? [] : shards[i];
                temporaries.Add(SafetensorsWriter.WriteTemporary(Path.Combine(folder, fileNames[i]), group, HuggingFaceMetadata));
            }
        }
        catch
        {
            foreach (var temporary in temporaries) AtomicFile.TryDelete(temporary);
            throw;
        }
        int committed = 0;
        try
        {
            for (; committed < fileNames.Count; committed++) AtomicFile.Commit(temporaries[committed], Path.Combine(folder, fileNames[committed]));
        }
        catch
        {
            foreach (var temporary in temporaries.Skip(committed + 1)) AtomicFile.TryDelete(temporary);
            throw;
        }

        if (shards.Count > 1)
        {
            var weightMap = shards.SelectMany((group, i) => group.Select(t => new KeyValuePair<string, string>(t.Name, fileNames[i]))).ToList();
            var index = new CheckpointIndex(weightMap, shards.SelectMany(s => s).Sum(t => t.ByteLength));
            byte[] json = index.ToJson();
            AtomicFile.Write(Path.Combine(folder, CheckpointReader.IndexFileName), stream => stream.Write(json));
        }
        else
        {
            AtomicFile.TryDelete(Path.Combine(folder, CheckpointReader.IndexFileName));
        }
        foreach (string stale in previous.Except(fileNames, StringComparer.Ordinal))
            AtomicFile.TryDelete(Path.Combine(folder, stale));
    }

    /// <summary>The safetensors files a checkpoint already in the folder uses (not its index, which is handled apart).</summary>
    private static List<string> PreviousCheckpointFiles(string folder)
    {
        var files = new List<string>();
        if (File.Exists(Path.Combine(folder, CheckpointReader.SingleFileName))) files.Add(CheckpointReader.SingleFileName);
        string index = Path.Combine(folder, CheckpointReader.IndexFileName);
        if (File.Exists(index))
        {
            try
            {
                files.AddRange(CheckpointIndex.Read(index).WeightMap.Select(kv => kv.Value).Distinct(StringComparer.Ordinal));
            }
            catch (CheckpointFormatException)
            {
                // A broken old index names nothing we can trust to delete; the new index replaces it anyway.
            }
        }
        return files;
    }
}

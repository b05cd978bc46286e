namespace TinyLlama.Data.Packed;

/// <summary>
/// An ordered set of packed files with one chunk size and dtype, cut into fixed-size blocks. As in lit-gpt,
/// a block never crosses a file: a file of chunk C yields floor(C / blockSize) blocks and its tail is unused.
/// Headers of all files are checked when the set is opened; files are mapped lazily and a bounded number stay
/// mapped (TinyLlama's 950B tokens are ~450k files: more than a process may keep open).
/// </summary>
public sealed class PackedDataset : IDisposable
{
    private const int MaxOpenFiles = 64;
    private readonly string[] _paths;
    private readonly Dictionary<int, LinkedListNode<(int Index, PackedFile File)>> _open = [];
    private readonly LinkedList<(int Index, PackedFile File)> _lru = new(); // most recently used first
    private readonly Lock _lock = new();

    /// <summary>Where the files came from (folder or pattern), for messages.</summary>
    public string Source { get; }
    public IReadOnlyList<string> Files => _paths;
    public long ChunkSize { get; }
    public PackedDType DType { get; }
    public long TotalTokens => ChunkSize * _paths.Length;

    /// <param name="files">The files, in the order blocks are numbered.</param>
    /// <param name="source">A description for error messages (the folder or pattern).</param>
    public PackedDataset(IEnumerable<string> files, string source)
    {
        _paths = files.ToArray();
        Source = source;
        if (_paths.Length == 0)
            throw new InvalidDataException($"no packed token files (*.bin) found in '{source}'");
        var first = PackedFile.ReadHeader(_paths[0]);
        for (int i = 1; i < _paths.Length; i++)
        {
            var h = PackedFile.ReadHeader(_paths[i]);
            if (h.ChunkSize != first.ChunkSize || h.DType != first.DType)
                throw new InvalidDataException(
                    $"packed token file '{_paths[i]}' has chunk size {h.ChunkSize} of {h.DType}, but '{_paths[0]}' " +
                    $"has {first.ChunkSize} of {first.DType}; all files of a dataset must agree");
        }
        ChunkSize = first.ChunkSize;
        DType = first.DType;
    }

    /// <summary>
    /// Opens a folder (every <c>*.bin</c> in it), a glob such as <c>data/train_slimpajama_*.bin</c>, a single
    /// file, or a prefix such as <c>data/train_</c> (lit-gpt's <c>glob(prefix*)</c>). Names are sorted ordinally,
    /// so every machine numbers the blocks the same way.
    /// </summary>
    public static PackedDataset Open(string pathOrPattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathOrPattern);
        if (System.IO.Directory.Exists(pathOrPattern))
            return new PackedDataset(Sorted(System.IO.Directory.GetFiles(pathOrPattern, "*.bin")), pathOrPattern);
        if (File.Exists(pathOrPattern))
            return new PackedDataset([pathOrPattern], pathOrPattern);
        string dir = Path.GetDirectoryName(pathOrPattern) is { Length: > 0 } d ? d : ".";
        string name = Path.GetFileName(pathOrPattern);
        if (!System.IO.Directory.Exists(dir))
            throw new DirectoryNotFoundException($"folder '{dir}' of packed dataset '{pathOrPattern}' does not exist");
        string pattern = name.AsSpan().IndexOfAny('*', '?') >= 0 ? name : name + "*.bin";
        return new PackedDataset(Sorted(System.IO.Directory.GetFiles(dir, pattern)), pathOrPattern);
    }

    private static string[] Sorted(string[] files)
    {
        var kept = files.Where(f => f.EndsWith(".bin", StringComparison.Ordinal)).ToArray();
        Array.Sort(kept, StringComparer.Ordinal);
        return kept;
    }

    public long BlocksPerFile(int blockSize)
    {
        if (blockSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "block size must be positive");
        return ChunkSize / blockSize;
    }

    /// <summary>Σ floor(chunk / blockSize) over the files.</summary>
    public long BlockCount(int blockSize) => BlocksPerFile(blockSize) * _paths.Length;

    /// <summary>Fills <paramref name="dest"/> (length = block size) with block <paramref name="index"/>.</summary>
    public void ReadBlock(long index, Span<int> dest)
    {
        long perFile = BlocksPerFile(dest.Length);
        long count = perFile * _paths.Length;
        if (index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(index), index,
                $"block {index} of size {dest.Length} is outside the {count} blocks of '{Source}'");
        int file = (int)(index / perFile);
        long start = index % perFile * dest.Length;
        lock (_lock)
            GetFile(file).ReadTokens(start, dest);
    }

    private PackedFile GetFile(int index)
    {
        if (_open.TryGetValue(index, out var node))
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
            return node.Value.File;
        }
        if (_open.Count >= MaxOpenFiles)
        {
            var last = _lru.Last!;
            _lru.RemoveLast();
            _open.Remove(last.Value.Index);
            last.Value.File.Dispose();
        }
        var file = PackedFile.Open(_paths[index]);
        if (file.ChunkSize != ChunkSize || file.DTypeCode != DType)
        {
            file.Dispose();
            throw new InvalidDataException($"packed token file '{_paths[index]}' changed since the dataset was opened");
        }
        _open[index] = _lru.AddFirst((index, file));
        return file;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var (_, file) in _lru)
                file.Dispose();
            _lru.Clear();
            _open.Clear();
        }
    }
}

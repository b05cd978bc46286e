using System.Buffers.Binary;

namespace TinyLlama.Data.Packed;

/// <summary>
/// Writes a token stream as lit-gpt packed files: <c>{prefix}_{counter:D10}.bin</c>, each holding exactly
/// <see cref="ChunkSize"/> tokens behind a 24-byte <see cref="PackedHeader"/>. Files are byte-identical to
/// those of lit-gpt's <c>PackedDatasetBuilder</c>, so either side reads the other's.
/// </summary>
/// <remarks>
/// The builder only concatenates: separating documents is the caller's job (<see cref="AddDocument"/> appends
/// an EOS). Unlike lit-gpt, the fill token is not a separator: it is used only if the caller asks to keep the
/// final partial chunk. Every file goes to a temporary name first and is renamed when complete, so a crash
/// never leaves a half-written <c>.bin</c> behind; an existing file is never overwritten.
/// </remarks>
public sealed class PackedDatasetBuilder
{
    private readonly int[] _buffer; // (ChunkSize,) tokens not yet written
    private int _filled;
    private readonly List<string> _written = [];

    public string Directory { get; }
    public string Prefix { get; }
    public int ChunkSize { get; }
    public int VocabSize { get; }
    public PackedDType DType { get; }

    /// <summary>Paths of the files written so far, in order.</summary>
    public IReadOnlyList<string> WrittenFiles => _written;
    /// <summary>Tokens added so far, including those still buffered.</summary>
    public long TokensAdded { get; private set; }
    /// <summary>Tokens of the final partial chunk dropped by <see cref="Finish"/> (0 until then).</summary>
    public long TokensDropped { get; private set; }
    /// <summary>Fill tokens written by <see cref="Finish"/> to complete the final chunk.</summary>
    public long TokensPadded { get; private set; }
    public bool IsFinished { get; private set; }

    /// <param name="dtype">Token type; null picks lit-gpt's "auto" (uint16 if vocab &lt; 65,500, else int32).</param>
    public PackedDatasetBuilder(string directory, string prefix, int chunkSize, int vocabSize, PackedDType? dtype = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        if (prefix.IndexOfAny(System.IO.Path.GetInvalidFileNameChars()) >= 0 || prefix.Contains('/'))
            throw new ArgumentException($"prefix '{prefix}' must be a plain file name", nameof(prefix));
        if (chunkSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "chunk size must be positive");
        if (vocabSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "vocabulary size must be positive");
        var dt = dtype ?? PackedHeader.AutoDType(vocabSize);
        long max = dt switch
        {
            PackedDType.UInt16 => ushort.MaxValue + 1L,
            PackedDType.Int32 => int.MaxValue,
            _ => throw new ArgumentException($"the builder writes uint16 or int32 tokens, not {dt}", nameof(dtype)),
        };
        if (vocabSize > max)
            throw new ArgumentException($"vocabulary of {vocabSize} does not fit in {dt}", nameof(dtype));
        Directory = directory;
        Prefix = prefix;
        ChunkSize = chunkSize;
        VocabSize = vocabSize;
        DType = dt;
        _buffer = new int[chunkSize];
        System.IO.Directory.CreateDirectory(directory);
    }

    /// <summary>Appends tokens; every full chunk is written to its own file at once.</summary>
    public void Add(ReadOnlySpan<int> tokens)
    {
        if (IsFinished)
            throw new InvalidOperationException("the builder is finished");
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)VocabSize)
                throw new ArgumentOutOfRangeException(nameof(tokens),
                    $"token {tokens[i]} at position {i} is outside the vocabulary [0, {VocabSize})");
        while (!tokens.IsEmpty)
        {
            int n = Math.Min(tokens.Length, ChunkSize - _filled);
            tokens[..n].CopyTo(_buffer.AsSpan(_filled));
            _filled += n;
            TokensAdded += n;
            tokens = tokens[n..];
            if (_filled == ChunkSize)
                Flush();
        }
    }

    /// <summary>Appends one document's tokens followed by <paramref name="eosId"/> (the document separator).</summary>
    public void AddDocument(ReadOnlySpan<int> tokens, int eosId)
    {
        if ((uint)eosId >= (uint)VocabSize)
            throw new ArgumentOutOfRangeException(nameof(eosId), eosId, $"EOS id outside the vocabulary [0, {VocabSize})");
        Add(tokens);
        Add([eosId]);
    }

    /// <summary>
    /// Ends the stream. By default the final partial chunk is dropped, as TinyLlama does since its issue #83
    /// (remainders padded with <c>&lt;s&gt;</c> from 64 processes taught the model to emit <c>&lt;s&gt;</c>).
    /// With <paramref name="keepRemainder"/> it is padded with <paramref name="padToken"/> (EOS is the sensible
    /// choice) and written: with tiny data one chunk may be all there is.
    /// </summary>
    public void Finish(bool keepRemainder = false, int? padToken = null)
    {
        if (IsFinished) return;
        if (keepRemainder && _filled > 0)
        {
            if (padToken is not int pad)
                throw new ArgumentException("keeping the remainder needs a pad token (use EOS)", nameof(padToken));
            if ((uint)pad >= (uint)VocabSize)
                throw new ArgumentOutOfRangeException(nameof(padToken), pad, $"pad token outside the vocabulary [0, {VocabSize})");
            TokensPadded = ChunkSize - _filled;
            _buffer.AsSpan(_filled).Fill(pad);
            _filled = ChunkSize;
            Flush();
        }
        TokensDropped = _filled;
        _filled = 0;
        IsFinished = true;
    }

    private void Flush()
    {
        string path = System.IO.Path.Combine(Directory, PackedHeader.FileName(Prefix, _written.Count));
        if (File.Exists(path))
            throw new IOException($"'{path}' already exists; remove it or choose another prefix or folder");
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            WriteChunk(stream, _buffer, DType);
        File.Move(temp, path, overwrite: false);
        _written.Add(path);
        _filled = 0;
    }

    /// <summary>Writes header plus tokens, little-endian; the whole file is built in memory first.</summary>
    internal static void WriteChunk(Stream stream, ReadOnlySpan<int> tokens, PackedDType dtype)
    {
        var header = new PackedHeader(dtype, tokens.Length);
        var bytes = new byte[header.FileLength];
        header.Write(bytes);
        var body = bytes.AsSpan(PackedHeader.Size);
        if (dtype == PackedDType.UInt16)
            for (int i = 0; i < tokens.Length; i++)
                BinaryPrimitives.WriteUInt16LittleEndian(body[(2 * i)..], checked((ushort)tokens[i]));
        else
            for (int i = 0; i < tokens.Length; i++)
                BinaryPrimitives.WriteInt32LittleEndian(body[(4 * i)..], tokens[i]);
        stream.Write(bytes);
        if (stream is FileStream fs) fs.Flush(flushToDisk: true); else stream.Flush();
    }
}

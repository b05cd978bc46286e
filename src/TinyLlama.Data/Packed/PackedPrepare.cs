using System.Runtime.ExceptionServices;

namespace TinyLlama.Data.Packed;

/// <summary>
/// Tokenizes text files into packed token files: documents separated by EOS, a held-out validation split.
/// </summary>
/// <remarks>
/// TinyLlama gives each of its 64 processes its own builder, so every process drops (or, before issue #83,
/// pads) its own final chunk, and the output depends on the process count. Here the expensive part,
/// tokenization, runs in parallel, but results are appended in input order by one builder per split: the
/// files are the same for any worker count, and each split loses at most one partial chunk.
/// </remarks>
public static class PackedPrepare
{
    public static PrepareReport Run(IReadOnlyList<string> inputs, Func<string, int[]> encode, PrepareOptions options,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(encode);
        ArgumentNullException.ThrowIfNull(options);
        if (inputs.Count == 0)
            throw new ArgumentException("no input files to prepare", nameof(inputs));
        foreach (string input in inputs)
            if (!File.Exists(input))
                throw new FileNotFoundException($"input file '{input}' does not exist", input);
        if (options.ValidationFraction is < 0 or >= 1 || double.IsNaN(options.ValidationFraction))
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationFraction, "validation fraction must be in [0, 1)");
        if (options.Workers <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.Workers, "workers must be positive");
        if ((uint)options.EosId >= (uint)options.VocabSize || options.BosId is int b && (uint)b >= (uint)options.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(options), $"EOS/BOS ids must be in [0, {options.VocabSize})");
        string trainPrefix = $"train_{options.Name}", validPrefix = $"validation_{options.Name}";
        RefuseToOverwrite(options.OutputDirectory, trainPrefix, validPrefix);

        var train = new PackedDatasetBuilder(options.OutputDirectory, trainPrefix, options.ChunkSize, options.VocabSize);
        var valid = new PackedDatasetBuilder(options.OutputDirectory, validPrefix, options.ChunkSize, options.VocabSize);
        var docs = inputs.SelectMany(DocumentReader.Read)
            .AsParallel().AsOrdered()
            .WithDegreeOfParallelism(options.Workers)
            .WithCancellation(cancel)
            .Select(text => encode(text));
        long index = 0;
        ulong splitKey = SplitMix64.Hash(options.Seed, 0x76616C6964 /* "valid" */);
        try
        {
            foreach (int[] tokens in docs)
            {
                double f = options.ValidationFraction;
                if (f == 0)
                    Append(train, tokens, options);
                else if (options.SplitBy == ValidationSplit.Document)
                    Append(SplitMix64.ToUnit(SplitMix64.Hash(splitKey, (ulong)index)) < f ? valid : train, tokens, options);
                else
                {
                    int cut = tokens.Length - (int)Math.Round(tokens.Length * f);
                    Append(train, tokens.AsSpan(0, cut), options);
                    if (cut < tokens.Length) Append(valid, tokens.AsSpan(cut), options);
                }
                index++;
            }
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            // PLINQ wraps a reader's or tokenizer's error; the user should see the error itself.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        if (index == 0)
            throw new InvalidDataException($"the {inputs.Count} input file(s) hold no documents");
        train.Finish(options.KeepRemainder, options.EosId);
        valid.Finish(options.KeepRemainder, options.EosId);
        if (train.WrittenFiles.Count == 0)
            throw new InvalidDataException(
                $"the training split has {train.TokensAdded} tokens, fewer than one chunk of {options.ChunkSize}, so no " +
                "file was written; use a smaller chunk size or keep the remainder (padded with EOS)");
        if (options.ValidationFraction > 0 && valid.WrittenFiles.Count == 0)
            throw new InvalidDataException(
                $"the validation split has {valid.TokensAdded} tokens from {index} documents, fewer than one chunk of " +
                $"{options.ChunkSize}, so no file was written; use a smaller chunk size, keep the remainder, a larger " +
                "fraction, or split by tail when the corpus has few documents");
        return new PrepareReport(index,
            train.TokensAdded, train.WrittenFiles, valid.TokensAdded, valid.WrittenFiles,
            train.TokensDropped + valid.TokensDropped, train.TokensPadded + valid.TokensPadded);
    }

    private static void Append(PackedDatasetBuilder builder, ReadOnlySpan<int> tokens, PrepareOptions options)
    {
        if (options.BosId is int bos) builder.Add([bos]);
        builder.AddDocument(tokens, options.EosId);
    }

    private static void RefuseToOverwrite(string dir, params string[] prefixes)
    {
        if (!Directory.Exists(dir)) return;
        foreach (string prefix in prefixes)
            if (Directory.EnumerateFiles(dir, prefix + "_*.bin").FirstOrDefault() is string existing)
                throw new IOException($"'{existing}' already exists; prepare into an empty folder or use another name");
    }
}

using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace TinyLlama.Data.Corpus;

/// <summary>
/// The default English training corpus, compiled into this assembly so that <c>train</c> works offline:
/// Jane Austen's six novels (public domain), one document per chapter. Built by tools/corpus/build-corpus.sh;
/// the resource is gzip'd JSON lines, <c>{"work": ..., "chapter": n, "text": ...}</c>, paragraphs separated by
/// a blank line ("\n\n"). Documents are read lazily, one line at a time, so a caller that stops early never
/// inflates the whole file.
/// </summary>
public static class EmbeddedCorpus
{
    public const string ResourceName = "TinyLlama.Data.Corpus.corpus.jsonl.gz";

    /// <summary>Documents in the resource; a test holds the resource to it, so a rebuild must update it.</summary>
    public const int DocumentCount = 270;

    /// <summary>UTF-16 characters over all document texts (the corpus is ASCII but for one '£').</summary>
    public const long CharacterCount = 4_009_651;

    private const string Origin = "Debian package r-cran-janeaustenr 1.0.0-1, usr/lib/R/site-library/janeaustenr/data/Rdata.rdb";
    private const string Licence = "public domain (text); package MIT, (c) 2016-2017 Julia Silge";

    public static IReadOnlyList<CorpusWork> Works { get; } =
    [
        new("Sense and Sensibility", "Jane Austen", 1811, Origin + " (sensesensibility)", Licence, "0996d90842bbe8093f3b8142c1e77d1b20cff52d1d0615f3ed67733653e74e26"),
        new("Pride and Prejudice", "Jane Austen", 1813, Origin + " (prideprejudice)", Licence, "2e44edaa4946d64ad541c68e0224f5d672f43bf3ce2a8a0b0637ad5e02fc6eb3"),
        new("Mansfield Park", "Jane Austen", 1814, Origin + " (mansfieldpark)", Licence, "e0e9ef3863ea77f51f6070062ee0dd50ad9b933223880617629e4e4963ea40ff"),
        new("Emma", "Jane Austen", 1815, Origin + " (emma)", Licence, "dd08b340a56ad4a0a00718d5682528a5a5886ae0aef91c9e0fa528074fa64b75"),
        new("Northanger Abbey", "Jane Austen", 1817, Origin + " (northangerabbey)", Licence, "8618a5acf5be50cc6e9b7680c7469fb6012649ab08c709dfc63c6367989fd31d"),
        new("Persuasion", "Jane Austen", 1817, Origin + " (persuasion)", Licence, "726513a6c18bb678427bcbcf7c72d0d20816a67c25b0471b26ddcabf3ebac140"),
    ];

    /// <summary>The texts of the documents in <paramref name="split"/>, in corpus order.</summary>
    public static IEnumerable<string> Documents(CorpusSplit split = CorpusSplit.All) =>
        ReadDocuments(split).Select(d => d.Text);

    /// <summary>The documents in <paramref name="split"/> with their work and chapter, in corpus order.</summary>
    public static IEnumerable<CorpusDocument> ReadDocuments(CorpusSplit split = CorpusSplit.All)
    {
        using var stream = OpenResource();
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        int index = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
                continue;
            if (CorpusSplitRule.Includes(split, index))
                yield return ParseLine(line, index);
            index++;
        }
    }

    /// <summary>A few lines for a log or <c>--help</c>: what the corpus is, its size and its licence.</summary>
    public static string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine($"Embedded corpus: {DocumentCount} documents (chapters), {CharacterCount:N0} characters; " +
                        $"every {CorpusSplitRule.Every}th document is held out for validation.");
        foreach (var work in Works)
            text.AppendLine($"  {work.Title} ({work.Year}), {work.Author}: {work.Licence}");
        text.Append($"  from {Origin}");
        return text.ToString();
    }

    private static Stream OpenResource() =>
        typeof(EmbeddedCorpus).Assembly.GetManifestResourceStream(ResourceName)
        ?? throw new InvalidOperationException(
            $"{typeof(EmbeddedCorpus).Assembly.GetName().Name}: embedded resource '{ResourceName}' is missing; " +
            "TinyLlama.Data.csproj must list Corpus/corpus.jsonl.gz as an EmbeddedResource.");

    private static CorpusDocument ParseLine(string line, int index)
    {
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        return new CorpusDocument(index, Field(root, "work", index).GetString()!,
            Field(root, "chapter", index).GetInt32(), Field(root, "text", index).GetString()!);
    }

    private static JsonElement Field(JsonElement root, string name, int index) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new InvalidDataException($"{ResourceName}: document {index} has no '{name}' field");
}

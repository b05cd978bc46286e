namespace TinyLlama.Data.Corpus;

/// <summary>Where one work of the embedded corpus came from; the full record is Corpus/SOURCES.md.</summary>
/// <param name="Sha256">Of the text as extracted from the package (its lines joined by "\n"), before cleaning.</param>
public sealed record CorpusWork(string Title, string Author, int Year, string Origin, string Licence, string Sha256);

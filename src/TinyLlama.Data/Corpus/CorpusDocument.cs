namespace TinyLlama.Data.Corpus;

/// <summary>One document of the embedded corpus: a chapter of a novel (chapter 0 is an author's preface).</summary>
/// <param name="Index">Position in the corpus file, 0-based; the train/validation split is a function of it.</param>
public sealed record CorpusDocument(int Index, string Work, int Chapter, string Text);

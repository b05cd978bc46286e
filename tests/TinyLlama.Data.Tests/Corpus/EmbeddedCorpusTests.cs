using TinyLlama.Data.Corpus;

namespace TinyLlama.Data.Tests.Corpus;

public class EmbeddedCorpusTests
{
    // Read once: inflating 4 MB takes a fraction of a second, but several tests look at every document.
    private static readonly Lazy<List<CorpusDocument>> All = new(() => EmbeddedCorpus.ReadDocuments().ToList());

    [Fact]
    public void Resource_has_the_documented_number_of_documents_and_characters()
    {
        Assert.Equal(EmbeddedCorpus.DocumentCount, All.Value.Count);
        Assert.Equal(EmbeddedCorpus.CharacterCount, All.Value.Sum(d => (long)d.Text.Length));
        Assert.Equal(Enumerable.Range(0, EmbeddedCorpus.DocumentCount), All.Value.Select(d => d.Index));
    }

    [Fact]
    public void Every_work_in_the_sources_table_has_its_chapters_and_nothing_else_appears()
    {
        var chaptersByWork = All.Value.GroupBy(d => d.Work).ToDictionary(g => g.Key, g => g.Count(d => d.Chapter > 0));
        Assert.Equal(EmbeddedCorpus.Works.Select(w => w.Title).Order(), chaptersByWork.Keys.Order());
        // The published chapter counts of the six novels.
        Assert.Equal(50, chaptersByWork["Sense and Sensibility"]);
        Assert.Equal(61, chaptersByWork["Pride and Prejudice"]);
        Assert.Equal(48, chaptersByWork["Mansfield Park"]);
        Assert.Equal(55, chaptersByWork["Emma"]);
        Assert.Equal(31, chaptersByWork["Northanger Abbey"]);
        Assert.Equal(24, chaptersByWork["Persuasion"]);
    }

    [Fact]
    public void Text_is_english_prose_without_markup_or_boilerplate()
    {
        string text = string.Concat(All.Value.Select(d => d.Text));
        double plain = text.Count(c => char.IsAsciiLetter(c) || c == ' ' || c == '\n' || ",.;:'\"!?-".Contains(c));
        Assert.True(plain / text.Length > 0.99, $"only {plain / text.Length:P2} letters, spaces and punctuation");

        var words = text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        foreach (var common in new[] { "the", "and", "of", "to", "her", "was", "she" })
            Assert.True(words.Count(w => w == common) > 5_000, $"'{common}' is rare");

        Assert.DoesNotContain("Gutenberg", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("NOTE ON THE TEXT", text, StringComparison.Ordinal);
        Assert.DoesNotContain("_", text, StringComparison.Ordinal);  // italics markers are stripped
        Assert.DoesNotContain("\r", text, StringComparison.Ordinal);
        Assert.All(All.Value, d => Assert.Equal(d.Text.Trim(), d.Text));
    }

    [Fact]
    public void Hard_wrapped_lines_are_joined_into_paragraphs()
    {
        var first = All.Value.First(d => d.Work == "Pride and Prejudice" && d.Chapter == 1).Text;
        Assert.StartsWith("It is a truth universally acknowledged, that a single man in possession of a good " +
                          "fortune, must be in want of a wife.\n\nHowever little known", first);
    }

    [Fact]
    public void Split_is_deterministic_disjoint_and_covers_the_corpus()
    {
        var train = EmbeddedCorpus.ReadDocuments(CorpusSplit.Train).Select(d => d.Index).ToList();
        var validation = EmbeddedCorpus.ReadDocuments(CorpusSplit.Validation).Select(d => d.Index).ToList();

        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Enumerable.Range(0, EmbeddedCorpus.DocumentCount), train.Concat(validation).Order());
        Assert.Equal(EmbeddedCorpus.DocumentCount / CorpusSplitRule.Every, validation.Count);
        Assert.All(validation, i => Assert.Equal(CorpusSplitRule.Every - 1, i % CorpusSplitRule.Every));
        Assert.Equal(validation, EmbeddedCorpus.ReadDocuments(CorpusSplit.Validation).Select(d => d.Index));
        // Interleaving puts every novel in the validation half.
        Assert.Equal(EmbeddedCorpus.Works.Count, EmbeddedCorpus.ReadDocuments(CorpusSplit.Validation).Select(d => d.Work).Distinct().Count());
    }

    [Fact]
    public void Documents_streams_the_texts_of_the_split()
    {
        Assert.Equal(All.Value.Where(d => d.Index % CorpusSplitRule.Every != CorpusSplitRule.Every - 1).Select(d => d.Text),
                     EmbeddedCorpus.Documents(CorpusSplit.Train));
        Assert.Equal(All.Value[0].Text, EmbeddedCorpus.Documents().First());
    }

    [Fact]
    public void Describe_names_every_work_and_the_licence()
    {
        string description = EmbeddedCorpus.Describe();
        Assert.All(EmbeddedCorpus.Works, w => Assert.Contains(w.Title, description, StringComparison.Ordinal));
        Assert.Contains("public domain", description, StringComparison.Ordinal);
        Assert.Contains("270 documents", description, StringComparison.Ordinal);
    }
}

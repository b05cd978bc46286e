using TinyLlama.Data.TokenizerTraining;

namespace TinyLlama.Data.Tests.TokenizerTraining;

public class TrainingWordsTests
{
    private static Dictionary<string, long> Count(params string[] texts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string text in texts)
            TrainingWords.Count(text, counts);
        return counts;
    }

    [Fact]
    public void Words_start_at_each_space_marker_and_layout_runs_stand_alone()
    {
        var counts = Count("said  she.\n\nThe end \n");
        Assert.Equal(
            new Dictionary<string, long> { ["▁said"] = 1, ["▁"] = 2, ["▁she."] = 1, ["\n\n"] = 1, ["The"] = 1, ["▁end"] = 1, ["\n"] = 1 },
            counts);
    }

    [Fact]
    public void Each_text_gets_the_prefix_and_empty_texts_add_nothing()
    {
        var counts = Count("the cat", "", "the");
        Assert.Equal(new Dictionary<string, long> { ["▁the"] = 2, ["▁cat"] = 1 }, counts);
        Assert.Equal("▁a▁b", TrainingWords.Normalize("a b"));
    }

    [Fact]
    public void Characters_outside_the_basic_plane_are_single_symbols()
    {
        // '😀' is two UTF-16 units; a word must not be cut between them.
        var counts = Count("😀😀 x");
        Assert.Equal(new Dictionary<string, long> { ["▁😀😀"] = 1, ["▁x"] = 1 }, counts);
    }

    [Fact]
    public void A_merge_that_would_spell_a_special_token_is_never_learned()
    {
        string text = string.Concat(Enumerable.Repeat("<s> ", 50)) + string.Concat(Enumerable.Repeat("ss ", 10));
        var vocabulary = BpeTrainer.Train([text], BpeTrainer.ReservedCount + 4 + 3, new BpeTrainerOptions { CharacterCoverage = 1.0 });
        Assert.Single(vocabulary.Pieces, p => p == "<s>");        // only the special, id 1
        Assert.Equal(1, vocabulary.Pieces.ToList().IndexOf("<s>"));
        Assert.DoesNotContain(vocabulary.Merges, m => m.Left + m.Right == "<s>");
    }
}

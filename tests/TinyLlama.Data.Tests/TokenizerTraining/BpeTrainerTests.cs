using TinyLlama.Data.Corpus;
using TinyLlama.Data.TokenizerTraining;

namespace TinyLlama.Data.Tests.TokenizerTraining;

public class BpeTrainerTests
{
    // Sennrich et al.'s example: low ×5, lower ×2, newest ×6, widest ×3.
    private const string LowLowerNewestWidest =
        "low low low low low lower lower newest newest newest newest newest newest widest widest widest";

    private static readonly BpeTrainerOptions AllCharacters = new() { CharacterCoverage = 1.0 };

    [Fact]
    public void First_merges_on_the_textbook_corpus_are_the_hand_computed_ones()
    {
        // Characters: ▁ l o w e r n s t i d (11). Pair counts: e s = s t = 9 (tie → "e" < "s"), then es t = 9;
        // then l o = o w = ▁ l = 7 ("l" sorts before "o" and "▁"), lo w, ▁ low; then the 6s, "e w" first.
        var vocabulary = BpeTrainer.Train([LowLowerNewestWidest], BpeTrainer.ReservedCount + 11 + 6, AllCharacters);

        Assert.Equal(
            [("e", "s"), ("es", "t"), ("l", "o"), ("lo", "w"), ("\u2581", "low"), ("e", "w")],
            vocabulary.Merges);
        Assert.Equal(["es", "est", "lo", "low", "\u2581low", "ew"], vocabulary.Pieces.Skip(BpeTrainer.ReservedCount).Take(6));
        // Characters last, most frequent first: ▁ 16, e 16 → '▁' > 'e' ordinally, so e first; then w 16.
        Assert.Equal(["e", "w", "\u2581"], vocabulary.Pieces.Skip(BpeTrainer.ReservedCount + 6).Take(3));
    }

    [Fact]
    public void Layout_is_reserved_tokens_then_merges_then_characters()
    {
        var vocabulary = BpeTrainer.Train([LowLowerNewestWidest], 280, AllCharacters);
        Assert.Equal(280, vocabulary.VocabSize);
        Assert.Equal(["<unk>", "<s>", "</s>", "<0x00>", "<0x01>"], vocabulary.Pieces.Take(5));
        Assert.Equal("<0xFF>", vocabulary.Pieces[258]);
        Assert.Equal("<0x0A>", vocabulary.Pieces[3 + 10]);
        Assert.Equal(11, vocabulary.Stats.KeptCharacters);
        Assert.All(vocabulary.Pieces.Skip(280 - 11), p => Assert.Single(p.EnumerateRunes()));
    }

    [Fact]
    public void Vocabulary_too_small_for_the_characters_is_a_clear_error()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            BpeTrainer.Train([LowLowerNewestWidest], BpeTrainer.ReservedCount + 11, AllCharacters));
        Assert.Contains("at least 271", error.Message, StringComparison.Ordinal);
        Assert.Equal("vocabSize", error.ParamName);
    }

    [Fact]
    public void Running_out_of_pairs_is_a_clear_error()
    {
        var error = Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["ab ab"], 400, AllCharacters));
        Assert.Contains("ran out of pairs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rare_characters_are_left_to_byte_fallback_and_round_trip()
    {
        string text = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 400)) + "£5 café";
        var vocabulary = BpeTrainer.Train([text], 280, new BpeTrainerOptions { CharacterCoverage = 0.999 });
        Assert.DoesNotContain("£", vocabulary.Pieces);
        Assert.DoesNotContain("é", vocabulary.Pieces);

        var encoder = new ReferenceBpeEncoder(vocabulary);
        var pieces = encoder.Encode("£5 café");
        Assert.Contains("<0xC2>", pieces); // '£' is C2 A3 in UTF-8
        Assert.Equal("£5 café", ReferenceBpeEncoder.Decode(pieces));
    }

    [Fact]
    public void Newlines_never_share_a_piece_with_other_characters()
    {
        var vocabulary = BpeTrainer.Train(EmbeddedCorpus.Documents().Take(20), 1500);
        Assert.Contains("\n\n", vocabulary.Pieces);
        Assert.All(vocabulary.Pieces.Skip(BpeTrainer.ReservedCount),
            p => Assert.True(p.All(c => c == '\n') || !p.Contains('\n'), $"piece {p.Replace("\n", "\\n")} mixes layout"));
        // '▁' only ever starts a piece: no merge can cross a word boundary.
        Assert.All(vocabulary.Pieces.Skip(BpeTrainer.ReservedCount), p => Assert.DoesNotContain('\u2581', p[1..]));
    }

    [Fact]
    public void Limits_on_documents_and_characters_are_respected()
    {
        var docs = EmbeddedCorpus.Documents().Take(10).ToList();
        var byDocuments = BpeTrainer.Train(docs, 600, new BpeTrainerOptions { MaxDocuments = 3 });
        Assert.Equal(3, byDocuments.Stats.Documents);

        var byCharacters = BpeTrainer.Train(docs, 600, new BpeTrainerOptions { MaxCharacters = docs[0].Length + 1 });
        Assert.Equal(2, byCharacters.Stats.Documents); // the text that crosses the limit is read whole
        Assert.Equal(docs[0].Length + docs[1].Length, byCharacters.Stats.Characters);
    }
}

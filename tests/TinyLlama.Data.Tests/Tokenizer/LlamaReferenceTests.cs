using TinyLlama.Data.Tokenizer;
using Xunit.Abstractions;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>
/// Llama-2's tokenizer.json against the ids of llama-tokenizer-js (whose cases were checked against SentencePiece):
/// its own hard cases (whitespace runs, tabs and newlines as bytes, equal-priority merges, CJK, emoji as bytes, a
/// long paragraph) and a seeded corpus of 505 mixed-script strings.
/// </summary>
public class LlamaReferenceTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void EncodesLlamaTokenizerJsCasesExactly()
    {
        var tokenizer = TokenizerAssets.Llama2;
        var cases = TokenizerAssets.Cases.Encode;
        Assert.True(cases.Length >= 12, $"expected llama-tokenizer-js's 12 cases, found {cases.Length}");
        AssertAllEncode(tokenizer, cases);
    }

    [SkippableFact]
    public void EncodesGeneratedCorpusExactly()
    {
        var tokenizer = TokenizerAssets.Llama2;
        var cases = TokenizerAssets.Cases.Generated;
        Assert.True(cases.Length >= 500, $"expected the 505 generated cases, found {cases.Length}");
        AssertAllEncode(tokenizer, cases);
    }

    [SkippableFact]
    public void DecodeRoundTripsEveryCase()
    {
        // Exact, except that a '▁' typed in the text is the same token as a space and comes back as one (so it does
        // in SentencePiece and Hugging Face: the vocabulary cannot tell them apart).
        var tokenizer = TokenizerAssets.Llama2;
        foreach (var c in TokenizerAssets.Cases.All)
        {
            Assert.Equal(c.Text.Replace(LlamaTokenizer.SpaceMarker, ' '), tokenizer.Decode(c.Ids));
        }
    }

    [SkippableFact]
    public void DecodeOnlyCasesMatchWhereTheFlagsMeanTheSame()
    {
        // llama-tokenizer-js's decode(ids, addBos, addPrecedingSpace): addPrecedingSpace = true is our only behaviour
        // (the dummy prefix is always taken off); addBos = true means "skip <s>", addBos = false shows it as "<s>".
        var tokenizer = TokenizerAssets.Llama2;
        var comparable = TokenizerAssets.Cases.Decode.Where(c => c.AddPrecedingSpace).ToList();
        Assert.Equal(4, comparable.Count);
        foreach (var c in comparable)
        {
            Assert.Equal(c.Text, tokenizer.Decode(c.Ids, skipSpecial: c.AddBos));
        }
    }

    [SkippableFact]
    public void KnownIdsOfLlama2()
    {
        var tokenizer = TokenizerAssets.Llama2;
        Assert.Equal(32000, tokenizer.VocabSize);
        Assert.Equal((0, 1, 2), (tokenizer.UnkId, tokenizer.BosId, tokenizer.EosId));
        Assert.Equal([1, 15043, 3186, 29991], tokenizer.Encode("Hello world!")); // llama-tokenizer-js README
        Assert.Equal([1, 15043, 3186, 29991, 2], tokenizer.Encode("Hello world!", addEos: true));
        Assert.Equal([15043, 3186, 29991], tokenizer.Encode("Hello world!", addBos: false));
        Assert.Equal("\u2581the", tokenizer.IdToPiece(278));
        Assert.Equal(13, tokenizer.PieceToId("<0x0A>"));
        Assert.Equal(PieceKind.Byte, tokenizer.KindOf(13));
        Assert.Equal(tokenizer.UnkId, tokenizer.PieceToId("no such piece"));
    }

    [SkippableFact]
    public void EmptyTextIsBosOnly()
    {
        // Hugging Face gives [1] for "" (no dummy prefix on empty text); SentencePiece gives [] plus the BOS asked for.
        var tokenizer = TokenizerAssets.Llama2;
        Assert.Equal([1], tokenizer.Encode(""));
        Assert.Empty(tokenizer.Encode("", addBos: false));
        Assert.Equal("", tokenizer.Decode([1]));
    }

    [SkippableFact]
    public void SpecialTokenTextIsTextNotSpecial()
    {
        // "<s>" typed in the text is three characters, as in SentencePiece and llama-tokenizer-js; only addBos adds id 1.
        var tokenizer = TokenizerAssets.Llama2;
        var ids = tokenizer.Encode("<s>hi</s>");
        Assert.Equal(1, ids.Count(id => id == tokenizer.BosId));
        Assert.DoesNotContain(tokenizer.EosId, ids);
        Assert.Equal("<s>hi</s>", tokenizer.Decode(ids));
    }

    [SkippableFact]
    public void DecodeShowsSpecialTokensOnlyWhenAsked()
    {
        var tokenizer = TokenizerAssets.Llama2;
        int[] ids = tokenizer.Encode("grabbed", addEos: true);
        Assert.Equal("grabbed", tokenizer.Decode(ids));
        Assert.Equal("<s> grabbed</s>", tokenizer.Decode(ids, skipSpecial: false)); // as Hugging Face shows them
    }

    void AssertAllEncode(LlamaTokenizer tokenizer, IEnumerable<EncodeCase> cases)
    {
        var failures = new List<string>();
        int count = 0;
        foreach (var c in cases)
        {
            count++;
            int[] actual = tokenizer.Encode(c.Text);
            if (!actual.SequenceEqual(c.Ids))
                failures.Add($"{c}\n  expected [{string.Join(' ', c.Ids)}]\n  actual   [{string.Join(' ', actual)}]");
        }
        output.WriteLine($"{count - failures.Count} of {count} cases give the reference ids");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} cases differ:\n" + string.Join('\n', failures.Take(10)));
    }
}

using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Data.Tests.Tokenizer;

public class StreamingDecoderTests
{
    readonly LlamaTokenizer tiny = TinyVocabulary.Create();

    [Fact]
    public void HoldsBackPartialCharacters()
    {
        var decoder = tiny.CreateStreamingDecoder();
        int[] ids = tiny.Encode("🦙h"); // <s> ▁ F0 9F A6 99 h
        string[] chunks = [.. ids.Select(decoder.Append)];

        Assert.Equal(["", "", "", "", "", "🦙", "h"], chunks); // the dummy-prefix space is dropped, the emoji waits for its 4th byte
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void FlushTurnsAnUnfinishedCharacterIntoReplacement()
    {
        var decoder = tiny.CreateStreamingDecoder();
        Assert.Equal("", decoder.Append(TinyVocabulary.Id("<0xF0>")));
        Assert.Equal("\uFFFD", decoder.Flush());
    }

    [Fact]
    public void EqualsBatchDecodeOnRandomText()
    {
        var random = new Random(99);
        for (int trial = 0; trial < 500; trial++)
        {
            int[] ids = tiny.Encode(EncodeDecodeTests.RandomText(random, random.Next(0, 30)), addEos: true);
            AssertStreamEqualsBatch(tiny, ids, skipSpecial: trial % 2 == 0);
        }
    }

    [SkippableFact]
    public void EqualsBatchDecodeOnTheReferenceCases()
    {
        var llama = TokenizerAssets.Llama2;
        foreach (var c in TokenizerAssets.Cases.All) AssertStreamEqualsBatch(llama, c.Ids, skipSpecial: true);
    }

    static void AssertStreamEqualsBatch(LlamaTokenizer tokenizer, int[] ids, bool skipSpecial)
    {
        var decoder = tokenizer.CreateStreamingDecoder(skipSpecial);
        string streamed = string.Concat(ids.Select(decoder.Append)) + decoder.Flush();
        Assert.Equal(tokenizer.Decode(ids, skipSpecial), streamed);
    }
}

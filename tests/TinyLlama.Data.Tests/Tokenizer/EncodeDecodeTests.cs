using System.Text;
using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Data.Tests.Tokenizer;

/// <summary>The algorithm on a hand-sized vocabulary: merge order, ties, byte fallback, decoding. No assets needed.</summary>
public class EncodeDecodeTests
{
    readonly LlamaTokenizer tiny = TinyVocabulary.Create();

    static int[] Ids(params string[] pieces) => [.. pieces.Select(TinyVocabulary.Id)];

    [Fact]
    public void MergesByPriorityWithTheDummyPrefix()
    {
        Assert.Equal(Ids("<s>", "▁hello", "▁world"), tiny.Encode("hello world"));
        // The space becomes '▁' and the dummy prefix adds another in front: "▁▁hello" merges "▁▁" first (rank 13)?
        // No: "▁ h" (rank 1) beats "▁ ▁" (rank 13), so the first '▁' stands alone.
        Assert.Equal(Ids("▁", "▁hello"), tiny.Encode(" hello", addBos: false));
    }

    [Fact]
    public void EqualPriorityMergesLeftmostFirst()
    {
        Assert.Equal(Ids("▁", "aa", "a"), tiny.Encode("aaa", addBos: false));
        Assert.Equal(Ids("▁", "aa", "aa"), tiny.Encode("aaaa", addBos: false));
        // "a b" (rank 11) beats "b a" (rank 12) wherever they are.
        Assert.Equal(Ids("▁", "b", "ab"), tiny.Encode("bab", addBos: false));
        Assert.Equal(Ids("▁", "ab", "a"), tiny.Encode("aba", addBos: false));
    }

    [Fact]
    public void MissingCharactersBecomeTheirUtf8Bytes()
    {
        // 'é' is C3 A9 in UTF-8; '🦙' (a surrogate pair in UTF-16) is F0 9F A6 99.
        Assert.Equal(Ids("▁h", "<0xC3>", "<0xA9>", "llo"), tiny.Encode("héllo", addBos: false));
        Assert.Equal(Ids("▁", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"), tiny.Encode("🦙", addBos: false));
        Assert.Equal(Ids("▁", "<0x0A>"), tiny.Encode("\n", addBos: false));
    }

    [Fact]
    public void WithoutByteFallbackUnknownCharactersFuseIntoOneUnk()
    {
        var noFallback = TinyVocabulary.Create(new TokenizerSettings(ByteFallback: false));
        Assert.Equal(Ids("▁h", "<unk>", "llo"), noFallback.Encode("hé€llo", addBos: false));
    }

    [Fact]
    public void WithoutDummyPrefixNothingIsPrepended()
    {
        var plain = TinyVocabulary.Create(new TokenizerSettings(AddDummyPrefix: false));
        Assert.Equal(Ids("he", "llo"), plain.Encode("hello", addBos: false));
        Assert.Equal(" hello", plain.Decode(plain.Encode(" hello")));
    }

    [Fact]
    public void BosAndEos()
    {
        Assert.Equal(Ids("<s>"), tiny.Encode(""));
        Assert.Empty(tiny.Encode("", addBos: false));
        Assert.Equal(Ids("<s>", "▁hello", "</s>"), tiny.Encode("hello", addEos: true));
        Assert.Equal((0, 1, 2), (tiny.UnkId, tiny.BosId, tiny.EosId));
    }

    [Fact]
    public void DecodeRemovesOnlyTheDummyPrefix()
    {
        Assert.Equal("hello world", tiny.Decode(tiny.Encode("hello world")));
        Assert.Equal("  hello", tiny.Decode(tiny.Encode("  hello")));
        Assert.Equal("hello", tiny.Decode(Ids("▁hello")));
        Assert.Equal("hello", tiny.Decode(Ids("he", "llo")));          // nothing to strip
        Assert.Equal("<s> hello</s>", tiny.Decode(Ids("<s>", "▁hello", "</s>"), skipSpecial: false));
        Assert.Equal("\uFFFD", tiny.Decode(Ids("<0xF0>", "<0x9F>")));   // a cut-off character decodes to U+FFFD
    }

    [Fact]
    public void SamplesRoundTrip()
    {
        foreach (string text in TinyVocabulary.Samples) Assert.Equal(text, tiny.Decode(tiny.Encode(text)));
    }

    [Fact]
    public void RandomUnicodeRoundTrips()
    {
        // Every plane, control characters and whitespace runs; the tiny vocabulary sends almost all of it through
        // byte fallback, which is the path that has to be exact.
        var random = new Random(1234);
        for (int trial = 0; trial < 2000; trial++)
        {
            string text = RandomText(random, random.Next(0, 40));
            Assert.Equal(text, tiny.Decode(tiny.Encode(text)));
        }
    }

    [Fact]
    public void LongInputIsNotQuadratic()
    {
        // One million characters as one sequence: a quadratic merge loop would take minutes here.
        string text = string.Concat(Enumerable.Repeat("hello world aaab ", 60_000));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int[] ids = tiny.Encode(text);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"encoding 1 M characters took {watch.Elapsed}");
        Assert.Equal(text, tiny.Decode(ids));
    }

    [Fact]
    public void PiecesAndIds()
    {
        Assert.Equal(TinyVocabulary.Pieces.Length, tiny.VocabSize);
        Assert.Equal("▁hello", tiny.IdToPiece(TinyVocabulary.Id("▁hello")));
        Assert.Equal(TinyVocabulary.Id("▁hello"), tiny.PieceToId("▁hello"));
        Assert.Equal(tiny.UnkId, tiny.PieceToId("nope"));
        Assert.False(tiny.TryGetId("nope", out _));
        Assert.Equal(PieceKind.Control, tiny.KindOf(1));
        Assert.Equal(PieceKind.Byte, tiny.KindOf(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => tiny.IdToPiece(tiny.VocabSize));
        Assert.Throws<ArgumentOutOfRangeException>(() => tiny.Decode([-1]));
    }

    internal static string RandomText(Random random, int length)
    {
        string[] whitespace = [" ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "    "];
        var builder = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            switch (random.Next(6))
            {
                case 0: builder.Append(whitespace[random.Next(whitespace.Length)]); break;
                case 1: builder.Append((char)random.Next(0, 0x20)); break;                      // control
                case 2: builder.Append((char)random.Next(0x20, 0x7f)); break;                   // ASCII
                case 3: builder.Append(char.ConvertFromUtf32(random.Next(0x10000, 0x110000))); break; // astral
                default:
                    int c = random.Next(0x80, 0x10000);
                    // BMP without lone surrogates, and without '▁', which decodes as a space by design.
                    builder.Append(char.IsSurrogate((char)c) || c == LlamaTokenizer.SpaceMarker ? 'x' : (char)c);
                    break;
            }
        }
        return builder.ToString();
    }
}

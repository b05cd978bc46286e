using System.Text;

namespace TinyLlama.Data.Tokenizer;

/// <summary>
/// Turns ids into text as they arrive. A character outside the vocabulary comes as two to four byte pieces, so the
/// bytes of an incomplete character are held back until the rest arrive; the concatenation of everything
/// <see cref="Append"/> and <see cref="Flush"/> return equals <see cref="LlamaTokenizer.Decode"/> of all the ids.
/// </summary>
public sealed class StreamingDecoder
{
    readonly LlamaTokenizer tokenizer;
    readonly bool skipSpecial;
    readonly Decoder utf8 = LlamaTokenizer.NewUtf8Decoder();
    char[] chars = new char[16];
    bool atStart = true;

    internal StreamingDecoder(LlamaTokenizer tokenizer, bool skipSpecial)
    {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    /// <summary>The text that <paramref name="id"/> completes; empty while a character is still partial.</summary>
    public string Append(int id)
    {
        if (skipSpecial && tokenizer.IsSpecial(id)) return "";
        return Convert(tokenizer.Surface(id), flush: false);
    }

    /// <summary>Ends the stream: bytes of a character that never completed come out as U+FFFD.</summary>
    public string Flush()
    {
        string text = Convert([], flush: true);
        utf8.Reset();
        atStart = true;
        return text;
    }

    string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = utf8.GetCharCount(bytes, flush);
        if (needed > chars.Length) chars = new char[Math.Max(needed, chars.Length * 2)];
        int count = utf8.GetChars(bytes, chars, flush);
        if (count == 0) return "";
        string text = new(chars, 0, count);
        if (atStart)
        {
            atStart = false; // only the very first character of the stream can be the dummy prefix
            if (tokenizer.StripsDummyPrefix(text)) text = text[1..];
        }
        return text;
    }
}

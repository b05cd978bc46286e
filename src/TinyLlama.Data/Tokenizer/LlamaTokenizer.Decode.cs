using System.Text;

namespace TinyLlama.Data.Tokenizer;

// Decoding: every id becomes bytes (a piece's UTF-8 with '▁' as a space, or the raw byte of a byte piece), the bytes
// are read as UTF-8, and one leading space, the dummy prefix, is dropped. Working in bytes is what makes a character
// spelled as several byte pieces come back whole.
public sealed partial class LlamaTokenizer
{
    byte[][] surfaces = [];          // what each id decodes to, in UTF-8
    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    void BuildDecoderTables()
    {
        surfaces = new byte[pieces.Length][];
        for (int id = 0; id < pieces.Length; id++)
        {
            surfaces[id] = kinds[id] == PieceKind.Byte && TryParseBytePiece(pieces[id], out byte value)
                ? [value]
                : Utf8.GetBytes(pieces[id].Replace(SpaceMarker, ' '));
        }
    }

    /// <summary>True for the ids <see cref="Decode"/> leaves out when asked to skip special tokens: control and unknown.</summary>
    public bool IsSpecial(int id) => KindOf(id) is PieceKind.Control or PieceKind.Unknown;

    /// <summary>
    /// The text of <paramref name="ids"/>: <c>Decode(Encode(text)) == text</c> for every string without lone
    /// surrogates or a literal '▁' (the same token as a space, so it decodes as one, as in SentencePiece). With <paramref name="skipSpecial"/> off, control and unknown tokens appear as their pieces
    /// ("&lt;s&gt;"), as Hugging Face's decode shows them. Bytes that do not form UTF-8 decode to U+FFFD.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = true)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            if (skipSpecial && IsSpecial(id)) continue;
            bytes.AddRange(Surface(id));
        }
        string text = Utf8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        return StripsDummyPrefix(text) ? text[1..] : text;
    }

    /// <summary>A decoder for ids that arrive one at a time, as in generation; see <see cref="StreamingDecoder"/>.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecial = true) => new(this, skipSpecial);

    internal ReadOnlySpan<byte> Surface(int id) => surfaces[CheckId(id)];

    // The encoder put a '▁' before the text; the decoder takes exactly one space back off the front (HF's Strip decoder).
    internal bool StripsDummyPrefix(string text) => Settings.AddDummyPrefix && text.Length > 0 && text[0] == ' ';

    internal static Decoder NewUtf8Decoder() => Utf8.GetDecoder();
}

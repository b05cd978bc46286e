using System.Buffers.Binary;
using System.Text;

namespace TinyLlama.Data.Tokenizer;

/// <summary>
/// Just enough of the protobuf wire format to read a SentencePiece model: varints, length-delimited fields
/// (strings, bytes, nested messages), 32- and 64-bit fixed fields, and skipping whatever is not needed.
/// Every read is bounds-checked, so a truncated file fails with the offset instead of reading garbage.
/// </summary>
internal ref struct ProtobufReader
{
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    readonly ReadOnlySpan<byte> data;
    readonly int baseOffset; // where this message starts in the file, for error messages
    readonly string source;
    int position;

    public ProtobufReader(ReadOnlySpan<byte> data, string source, int baseOffset = 0)
    {
        this.data = data;
        this.source = source;
        this.baseOffset = baseOffset;
    }

    public readonly bool AtEnd => position >= data.Length;

    /// <summary>Reads the next field key: its number and wire type.</summary>
    public (int Field, int WireType) ReadKey()
    {
        ulong key = ReadVarint();
        int field = (int)(key >> 3);
        if (field == 0) throw Error("field number 0");
        return (field, (int)(key & 7));
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length) throw Error("truncated varint");
            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Error("varint longer than 10 bytes");
    }

    public float ReadFloat() => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(Take(4)));

    /// <summary>A length-delimited field's bytes and where they start in the file.</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited(out int offset)
    {
        ulong length = ReadVarint();
        if (length > (ulong)(data.Length - position)) throw Error($"a field of {length} bytes runs past the end of the data");
        offset = baseOffset + position;
        return Take((int)length);
    }

    public string ReadString()
    {
        var bytes = ReadLengthDelimited(out int offset);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw TokenizerFormatException.In(source, $"string at byte {offset} is not valid UTF-8");
        }
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadVarint(); break;
            case Fixed64: Take(8); break;
            case LengthDelimited: ReadLengthDelimited(out _); break;
            case Fixed32: Take(4); break;
            default: throw Error($"wire type {wireType} (groups are not used by SentencePiece)");
        }
    }

    /// <summary>Fails unless the field has the wire type the schema gives it.</summary>
    public readonly void Expect(int field, int wireType, int expected)
    {
        if (wireType != expected) throw Error($"field {field} has wire type {wireType}, expected {expected}");
    }

    ReadOnlySpan<byte> Take(int count)
    {
        if (count > data.Length - position) throw Error($"truncated: {count} bytes needed, {data.Length - position} left");
        var span = data.Slice(position, count);
        position += count;
        return span;
    }

    readonly TokenizerFormatException Error(string problem)
        => TokenizerFormatException.In(source, $"malformed protobuf at byte {baseOffset + position}: {problem}");
}

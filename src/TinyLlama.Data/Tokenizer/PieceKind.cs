namespace TinyLlama.Data.Tokenizer;

/// <summary>
/// What a vocabulary entry is, with SentencePiece's numbering (<c>ModelProto.SentencePiece.Type</c>), so a
/// <c>tokenizer.model</c> maps onto it one to one.
/// </summary>
public enum PieceKind
{
    /// <summary>Text that the merges can produce and that decodes to itself (with '▁' as a space).</summary>
    Normal = 1,
    /// <summary>The unknown token, <c>&lt;unk&gt;</c>: what a character becomes when there is no byte fallback.</summary>
    Unknown = 2,
    /// <summary>A control token such as <c>&lt;s&gt;</c> or <c>&lt;/s&gt;</c>: never produced from text, empty when decoded.</summary>
    Control = 3,
    /// <summary>A piece matched as a whole in the input before any merge.</summary>
    UserDefined = 4,
    /// <summary>Reserved, never produced.</summary>
    Unused = 5,
    /// <summary>One raw byte, <c>&lt;0xAB&gt;</c>, used for characters the vocabulary lacks.</summary>
    Byte = 6,
}

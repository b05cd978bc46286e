namespace TinyLlama.Data.Tokenizer;

/// <summary>A tokenizer file that cannot be read: the message names the file and what was wrong with it.</summary>
public sealed class TokenizerFormatException(string message, Exception? inner = null) : Exception(message, inner)
{
    internal static TokenizerFormatException In(string source, string problem, Exception? inner = null)
        => new($"{source}: {problem}", inner);
}

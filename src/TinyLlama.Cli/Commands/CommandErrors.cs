using TinyLlama.Data.Tokenizer;
using TinyLlama.Model.Checkpoints;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// Turns the errors a user can cause (a wrong path, a corrupt file, a bad value) into one line on stderr and exit
/// code 1, instead of a stack trace. Anything else is a bug and propagates.
/// </summary>
internal static class CommandErrors
{
    public static int Run(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException
                                      or NotSupportedException or KeyNotFoundException or FormatException
                                      or TokenizerFormatException or CheckpointFormatException)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}

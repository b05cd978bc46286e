using System.CommandLine;
using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>tokenize</c>: text to token ids and back with a Llama-2 tokenizer (tokenizer.json or tokenizer.model). The ids
/// start with &lt;s&gt; (1) by default, as Hugging Face's tokenizer gives them, so they can be compared directly.
/// </summary>
internal static class TokenizeCommand
{
    public const int ExitError = 1;

    public static Command Create()
    {
        var tokenizerPath = new Option<string>("--tokenizer")
        {
            Description = "tokenizer.json, tokenizer.model, or a folder holding one of them.",
            Required = true,
        };
        var text = new Option<string?>("--text") { Description = "Text to encode; prints its ids separated by spaces." };
        var decode = new Option<string?>("--decode") { Description = "Ids to decode, separated by spaces or commas; prints the text." };
        var noBos = new Option<bool>("--no-bos") { Description = "Do not start the ids with <s>." };

        var command = new Command("tokenize", "Encode text to Llama-2 token ids, or decode ids to text.")
        {
            tokenizerPath, text, decode, noBos,
        };
        command.Validators.Add(result =>
        {
            bool hasText = result.GetResult(text) is not null, hasDecode = result.GetResult(decode) is not null;
            if (hasText == hasDecode) result.AddError("give exactly one of --text and --decode");
        });
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var tokenizer = LlamaTokenizer.Load(parseResult.GetValue(tokenizerPath)!);
                if (parseResult.GetValue(text) is { } input)
                {
                    output.WriteLine(string.Join(' ', tokenizer.Encode(input, addBos: !parseResult.GetValue(noBos))));
                }
                else
                {
                    output.WriteLine(tokenizer.Decode(ParseIds(parseResult.GetValue(decode)!, tokenizer.VocabSize)));
                }
                return 0;
            }
            catch (Exception e) when (e is IOException or TokenizerFormatException or FormatException or UnauthorizedAccessException)
            {
                error.WriteLine($"error: {e.Message}");
                return ExitError;
            }
        });
        return command;
    }

    static int[] ParseIds(string text, int vocabSize)
    {
        var parts = text.Split([' ', ',', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], out ids[i]) || ids[i] < 0 || ids[i] >= vocabSize)
                throw new FormatException($"--decode: '{parts[i]}' is not a token id (0 to {vocabSize - 1})");
        }
        return ids;
    }
}

using System.CommandLine;
using System.Globalization;
using TinyLlama.Model.Generation;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>generate</c>: continues a prompt with a Hugging Face Llama model. Only the continuation goes to stdout,
/// streamed token by token; speed and diagnostics go to stderr.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder (config.json, model.safetensors, tokenizer.json).", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file or folder, if not in the model folder." };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue.", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Stop after this many new tokens.", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 is greedy.", DefaultValueFactory = _ => 0.8 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling: keep the smallest set of tokens whose probability reaches P.", DefaultValueFactory = _ => 0.95 };
        var topK = new Option<int>("--top-k") { Description = "Keep only the K most likely tokens (0: all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the sampler; the same seed gives the same text.", DefaultValueFactory = _ => 0 };

        var command = new Command("generate", "Continue a prompt with a Llama model; prints only the continuation.")
        {
            model, tokenizer, prompt, maxNew, temperature, topP, topK, seed,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            return CommandErrors.Run(error, () =>
            {
                var sampling = new SamplingOptions
                {
                    Temperature = parse.GetValue(temperature),
                    TopP = parse.GetValue(topP),
                    TopK = parse.GetValue(topK),
                    Seed = parse.GetValue(seed),
                }.Validate();
                using var folder = ModelFolder.Open(parse.GetValue(model)!, parse.GetValue(tokenizer));
                int[] promptIds = folder.Tokenizer.Encode(parse.GetValue(prompt)!, addBos: true);
                error.WriteLine($"model: {folder.Model.Config} ({folder.Model.ParameterCount():N0} parameters), prompt: {promptIds.Length} tokens");

                // The decoder first sees the prompt, so the continuation keeps its leading space.
                var decoder = folder.Tokenizer.CreateStreamingDecoder();
                foreach (int id in promptIds) decoder.Append(id);
                var generator = new Generator(folder.Model);
                foreach (int id in generator.Generate(promptIds, parse.GetValue(maxNew), sampling))
                {
                    output.Write(decoder.Append(id));
                    output.Flush();
                }
                output.Write(decoder.Flush());
                output.WriteLine();
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{generator.GeneratedTokens} tokens ({generator.StopReason}); prefill {generator.PrefillSeconds:F2} s, decode {generator.TokensPerSecond:F1} tokens/s"));
                return 0;
            });
        });
        return command;
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TinyLlama.Model;
using TinyLlama.Tensors;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>eval</c>: mean next-token cross-entropy of a text file under a model, and its perplexity. The text is
/// tokenized with BOS and cut into non-overlapping windows of the model's context length; every token after the
/// first is predicted once.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder.", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file or folder, if not in the model folder." };
        var text = new Option<string>("--text") { Description = "UTF-8 text file to evaluate.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print {\"loss\": …, \"perplexity\": …, \"tokens\": …} instead of text." };
        var context = new Option<int?>("--context") { Description = "Window length in tokens (default: the model's context length)." };

        var command = new Command("eval", "Mean next-token loss and perplexity of a text file.") { model, tokenizer, text, json, context };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            return CommandErrors.Run(error, () =>
            {
                string path = parse.GetValue(text)!;
                if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file (--text)");
                using var folder = ModelFolder.Open(parse.GetValue(model)!, parse.GetValue(tokenizer));
                int[] ids = folder.Tokenizer.Encode(File.ReadAllText(path), addBos: true);
                if (ids.Length < 2) throw new InvalidDataException($"{path}: the text has no token to predict (it is empty)");
                int window = parse.GetValue(context) ?? folder.Model.Config.MaxSeqLen;
                if (window < 1 || window > folder.Model.Config.MaxSeqLen)
                    throw new ArgumentException($"--context {window}: expected 1 … {folder.Model.Config.MaxSeqLen} (the model's context length)");
                var (loss, tokens) = Evaluate(folder.Model, ids, window);
                double perplexity = Math.Exp(loss);
                if (parse.GetValue(json))
                    output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["loss"] = loss, ["perplexity"] = perplexity, ["tokens"] = tokens }));
                else
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss {loss:F4}  perplexity {perplexity:F2}  tokens {tokens}"));
                return 0;
            });
        });
        return command;
    }

    /// <summary>Token-weighted mean loss over windows [i·w, i·w + w] (inputs) → shifted by one (targets).</summary>
    public static (double Loss, long Tokens) Evaluate(LlamaForCausalLM model, int[] ids, int window)
    {
        double total = 0;
        long count = 0;
        using var noGrad = GradMode.NoGrad();
        for (int start = 0; start + 1 < ids.Length; start += window)
        {
            int n = Math.Min(window, ids.Length - 1 - start);
            using var scope = new TensorScope();
            var inputs = Tensor.FromArray(ids[start..(start + n)], 1, n);
            var targets = Tensor.FromArray(ids[(start + 1)..(start + n + 1)], 1, n);
            total += model.Loss(inputs, targets).Item() * n;
            count += n;
        }
        return (total / count, count);
    }
}

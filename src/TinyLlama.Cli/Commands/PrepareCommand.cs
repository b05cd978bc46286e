using System.CommandLine;
using TinyLlama.Data.Packed;
using TinyLlama.Data.Tokenizer;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>prepare</c>: tokenizes text files in parallel into lit-gpt's packed token files (LITPKDS, the format of
/// TinyLlama's preprocessed data), documents separated by EOS, with a held-out validation split.
/// </summary>
internal static class PrepareCommand
{
    public static Command Create()
    {
        var input = new Option<string[]>("--input") { Description = "Text files (.txt: one document; .jsonl: the \"text\" field of each line).", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json or tokenizer.model.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for train_NAME_*.bin and validation_NAME_*.bin.", Required = true };
        var name = new Option<string>("--name") { Description = "Name inside the file names.", DefaultValueFactory = _ => "data" };
        var valFraction = new Option<double>("--val-fraction") { Description = "Share held out for validation.", DefaultValueFactory = _ => 0.05 };
        var split = new Option<string>("--split") { Description = "document: whole documents are held out; tail: the end of every document.", DefaultValueFactory = _ => "document" };
        split.AcceptOnlyFromAmong("document", "tail");
        var chunk = new Option<int>("--chunk-size") { Description = "Tokens per file (TinyLlama: 2049 × 1024).", DefaultValueFactory = _ => 2049 * 1024 };
        var keep = new Option<bool>("--keep-remainder") { Description = "Pad the last partial file with EOS instead of dropping it (small corpora)." };
        var workers = new Option<int>("--workers") { Description = "Tokenizing threads.", DefaultValueFactory = _ => Environment.ProcessorCount };

        var command = new Command("prepare", "Tokenize text files into packed token files (LITPKDS) for training.")
        {
            input, tokenizer, output, name, valFraction, split, chunk, keep, workers,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            return CommandErrors.Run(parse.InvocationConfiguration.Error, () =>
            {
                var tok = LlamaTokenizer.Load(parse.GetValue(tokenizer)!);
                var report = PackedPrepare.Run(parse.GetValue(input)!, text => tok.Encode(text, addBos: false), new PrepareOptions
                {
                    OutputDirectory = parse.GetValue(output)!,
                    Name = parse.GetValue(name)!,
                    VocabSize = tok.VocabSize,
                    EosId = tok.EosId,
                    ChunkSize = parse.GetValue(chunk),
                    ValidationFraction = parse.GetValue(valFraction),
                    SplitBy = parse.GetValue(split) == "tail" ? ValidationSplit.Tail : ValidationSplit.Document,
                    KeepRemainder = parse.GetValue(keep),
                    Workers = parse.GetValue(workers),
                });
                stdout.WriteLine($"{report.Documents:N0} documents: {report.TrainTokens:N0} training tokens in {report.TrainFiles.Count} files, " +
                                 $"{report.ValidationTokens:N0} validation tokens in {report.ValidationFiles.Count} files " +
                                 $"({report.DroppedTokens:N0} dropped, {report.PaddedTokens:N0} padding)");
                return 0;
            });
        });
        return command;
    }
}

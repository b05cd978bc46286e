using System.CommandLine;
using TinyLlama.Cli.Commands;

namespace TinyLlama.Cli;

/// <summary>
/// The command tree and its one entry point. Output goes to the writers passed in, never straight to
/// <see cref="Console"/>, so tests run commands in-process and read what they print.
/// </summary>
public static class Cli
{
    public const string Description =
        "TinyLlama.Managed: pre-train, run and evaluate Llama-2 models (TinyLlama) in pure managed C#, on CPU or CUDA.";

    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand(Description);
        root.Add(SelfTestCommand.Create());
        root.Add(GenerateCommand.Create());
        root.Add(EvalCommand.Create());
        root.Add(ConvertCommand.Create());
        root.Add(TokenizeCommand.Create());
        root.Add(TrainCommand.Create());
        root.Add(PrepareCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(LaunchCommand.Create());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var configuration = new InvocationConfiguration { Output = output, Error = error };
        return BuildRootCommand().Parse(args).Invoke(configuration);
    }
}

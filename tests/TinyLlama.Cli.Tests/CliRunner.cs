namespace TinyLlama.Cli.Tests;

/// <summary>Runs the command line in-process, capturing what it prints.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        // Shown by a failed assertion, so the report says what the command printed.
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exitCode = Cli.Run(args, output, error);
        return new Result(exitCode, output.ToString(), error.ToString());
    }
}

using System.Diagnostics;
using TinyLlama.Kernels;

namespace TinyLlama.Cli.Tests;

/// <summary>Runs the command line in-process, capturing what it prints.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        // Shown by a failed assertion, so the report says what the command printed.
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }

    /// <summary>
    /// How to start the built CLI with <paramref name="args"/> as a child process: output redirected, and without this
    /// environment's data-parallel and simulator variables (a test that wants them sets them on the result).
    /// </summary>
    public static ProcessStartInfo ChildStartInfo(IEnumerable<string> args)
    {
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "TinyLlama.Cli.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (string name in new[] { "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TINYLLAMA_JOB_TOKEN", GpuDevices.SimulateVariable })
            start.Environment.Remove(name);
        return start;
    }

    /// <summary>
    /// The built CLI as a child process, for runs whose process-wide choices (the simulated GPU) must not leak into
    /// this test process. The data-parallel and simulator variables of this environment are not passed on.
    /// </summary>
    public static Result RunChild(TimeSpan limit, params string[] args)
    {
        using var process = Process.Start(ChildStartInfo(args))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{string.Join(' ', args)}` did not finish in {limit}");
        }
        return new Result(process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exitCode = Cli.Run(args, output, error);
        return new Result(exitCode, output.ToString(), error.ToString());
    }
}

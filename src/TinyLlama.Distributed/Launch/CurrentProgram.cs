using System.Reflection;

namespace TinyLlama.Distributed;

/// <summary>
/// How to start another copy of the running program. Started as an app (<c>dotnet run</c> runs the apphost,
/// <c>bin/…/TinyLlama.Cli</c>), the process path is the program; started as <c>dotnet TinyLlama.Cli.dll</c>, the
/// process path is the dotnet host and the entry assembly's path must come first among the arguments.
/// </summary>
public sealed record ProgramToStart(string FileName, IReadOnlyList<string> LeadingArguments)
{
    public static ProgramToStart Current()
    {
        string path = Environment.ProcessPath ?? throw new InvalidOperationException("the path of the running program is unknown");
        string? entry = Assembly.GetEntryAssembly()?.Location;
        bool isDotnetHost = Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        if (isDotnetHost && !string.IsNullOrEmpty(entry) && entry.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            return new ProgramToStart(path, [entry]);
        return new ProgramToStart(path, []);
    }

    public override string ToString() => string.Join(' ', new[] { FileName }.Concat(LeadingArguments));
}

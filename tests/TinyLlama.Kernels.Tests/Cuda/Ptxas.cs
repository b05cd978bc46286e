using System.Diagnostics;

namespace TinyLlama.Kernels.Tests.Cuda;

/// <summary>
/// NVIDIA's PTX assembler, installed by tools/ci/install-ptxas.sh (CUDA 11.8 from Debian's non-free section).
/// Found through $TINYLLAMA_PTXAS, the repository's .cache/ptxas, or PATH.
/// </summary>
public static class Ptxas
{
    public static string? Path { get; } = Find();

    /// <summary>Under CI the PTX checks must run: a missing assembler is a failure there, not a skip.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("CI") is "true" or "1";

    static string? Find()
    {
        if (Environment.GetEnvironmentVariable("TINYLLAMA_PTXAS") is { Length: > 0 } given) return given;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, ".cache", "ptxas", "usr", "bin", "ptxas");
            if (File.Exists(candidate)) return candidate;
        }
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(dir, "ptxas");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public sealed record Result(int ExitCode, string Report);

    /// <summary>Assembles PTX text for sm_XX with a verbose resource report (registers, spills, shared memory).</summary>
    public static Result Assemble(string ptx, string arch)
    {
        string dir = Directory.CreateTempSubdirectory("ptxas-").FullName;
        try
        {
            string input = System.IO.Path.Combine(dir, "kernel.ptx");
            File.WriteAllText(input, ptx);
            var start = new ProcessStartInfo(Path!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                ArgumentList = { "-arch=" + arch, "-v", "-O3", "-o", System.IO.Path.Combine(dir, "kernel.cubin"), input },
            };
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return new Result(process.ExitCode, (stdout + stderr.Result).Trim());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

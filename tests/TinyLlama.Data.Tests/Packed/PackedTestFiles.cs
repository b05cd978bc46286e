using System.Runtime.CompilerServices;
using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

/// <summary>A temporary folder per test, removed afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("tinyllama-packed-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

internal static class PackedTestFiles
{
    /// <summary>The committed fixtures written by tools/reference/packed_dataset_check.py.</summary>
    public static string FixturesDir([CallerFilePath] string source = "")
    {
        string beside = Path.Combine(Path.GetDirectoryName(source) ?? "", "Fixtures");
        if (Directory.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "TinyLlama.Data.Tests", "Packed", "Fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/TinyLlama.Data.Tests/Packed/Fixtures not found");
    }

    /// <summary>Writes a raw file: header fields as given, then <paramref name="body"/> bytes.</summary>
    public static string WriteRaw(string path, ReadOnlySpan<byte> magic, ulong version, byte code, ulong chunk, int bodyBytes)
    {
        using var f = System.IO.File.Create(path);
        var header = new byte[24];
        magic.CopyTo(header);
        BitConverter.TryWriteBytes(header.AsSpan(7), version);
        header[15] = code;
        BitConverter.TryWriteBytes(header.AsSpan(16), chunk);
        f.Write(header);
        f.Write(new byte[bodyBytes]);
        return path;
    }

    /// <summary>Writes files of <paramref name="chunk"/> tokens where token i of the stream is i (mod vocab).</summary>
    public static IReadOnlyList<string> WriteCounting(string dir, string prefix, int chunk, int files, int vocab = 32000)
    {
        var b = new PackedDatasetBuilder(dir, prefix, chunk, vocab);
        var tokens = Enumerable.Range(0, chunk * files).Select(i => i % vocab).ToArray();
        b.Add(tokens);
        b.Finish();
        return b.WrittenFiles;
    }
}

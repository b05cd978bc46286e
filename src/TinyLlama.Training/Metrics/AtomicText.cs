using System.Text;

namespace TinyLlama.Training.Metrics;

/// <summary>
/// Replaces a file so that its path holds either the old or the complete new content: write a temporary
/// file beside it, flush it to disk, rename it over the path. A crash midway leaves the old file as it was.
/// </summary>
internal static class AtomicText
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    public static void Write(string path, string contents) => Write(path, Utf8NoBom.GetBytes(contents));

    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        string temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(contents);
                // To the disk, not only the OS cache: the rename must not become visible before the data.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original error matters more than a leftover temporary file.
        }
    }
}

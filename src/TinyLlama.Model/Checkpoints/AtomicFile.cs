namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// Writes a file so that its path only ever holds the old content or the complete new content: the bytes go
/// to a temporary file beside it, are flushed to disk, and the temporary file is renamed over the path. A crash
/// or an exception midway leaves the old file untouched and no temporary file behind.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<FileStream> write) => Commit(WriteTemporary(path, write), path);

    /// <summary>Writes and flushes <c>path.tmp-XXXX</c>; returns its path, to be passed to <see cref="Commit"/>.</summary>
    public static string WriteTemporary(string path, Action<FileStream> write)
    {
        string temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
            write(stream);
            // Flush(true) reaches the disk, not only the OS cache: the rename must not land before the data.
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        return temporary;
    }

    public static void Commit(string temporary, string path)
    {
        try
        {
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original error matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

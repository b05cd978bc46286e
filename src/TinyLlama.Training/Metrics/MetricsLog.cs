using System.Text.Json;

namespace TinyLlama.Training.Metrics;

/// <summary>
/// Appends training and validation metrics to a JSON-lines file (<see cref="MetricsJson"/> has the format),
/// one flushed line per call, so a crash loses at most the step being written.
/// </summary>
/// <remarks>
/// On resume from a checkpoint at step k, call <see cref="TruncateAfter"/> with k and then open the log with
/// <c>append: true</c>: the steps after k that the crashed run logged are dropped and logged again, so the log
/// of a resumed run has the same steps as that of an uninterrupted one.
/// </remarks>
public sealed class MetricsLog : IDisposable
{
    public const string DefaultFileName = "metrics.jsonl";

    private const int MaxLineBytes = 64 * 1024;

    private readonly FileStream _stream;
    private readonly Lock _gate = new();

    /// <param name="path">The log file; its folder must exist.</param>
    /// <param name="append">True continues an existing log (a partial last line left by a crash is cut off);
    /// false starts a new one, replacing a file that is there.</param>
    public MetricsLog(string path, bool append = false)
    {
        Path = path;
        // FileShare.Read: the plot, or a user's `tail -f`, can read the log while the run writes it.
        _stream = new FileStream(path, append ? FileMode.OpenOrCreate : FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        if (append)
        {
            EndWithCompleteLine(_stream);
            _stream.Seek(0, SeekOrigin.End);
        }
    }

    public string Path { get; }

    public void Append(StepMetrics metrics) => Write(MetricsJson.Line(metrics));

    public void Append(ValidationMetrics metrics) => Write(MetricsJson.Line(metrics));

    public void Dispose() => _stream.Dispose();

    /// <summary>Reads a log. A last line without its newline that does not parse is what a crash leaves
    /// mid-write and is skipped; any other malformed line is an error naming the file and line.</summary>
    public static MetricsHistory Read(string path) => History(Scan(path, ReadShared(path)));

    /// <summary>
    /// Drops every line whose step is after <paramref name="step"/> (and a partial last line), rewriting the
    /// file atomically; returns what is kept. A missing file is left missing and gives an empty history.
    /// </summary>
    public static MetricsHistory TruncateAfter(string path, int step)
    {
        if (!File.Exists(path))
            return MetricsHistory.Empty;
        var kept = Scan(path, ReadShared(path)).Where(line => line.Step is not int s || s <= step).ToList();
        var contents = new MemoryStream();
        foreach (var line in kept)
        {
            // The original bytes, not a re-serialization: kept lines stay exactly as they were written.
            contents.Write(line.Bytes.Span);
            contents.WriteByte((byte)'\n');
        }
        AtomicText.Write(path, contents.GetBuffer().AsSpan(0, (int)contents.Length));
        return History(kept);
    }

    private void Write(byte[] line)
    {
        lock (_gate)
        {
            _stream.Write(line);
            // To the OS, which keeps it if the process dies; an fsync per step would cost more than it saves.
            _stream.Flush();
        }
    }

    private readonly record struct ScannedLine(ReadOnlyMemory<byte> Bytes, object? Parsed, int? Step);

    /// <summary>The non-blank lines of a log, parsed; a partial last line is left out.</summary>
    private static IEnumerable<ScannedLine> Scan(string path, byte[] data)
    {
        int start = 0;
        for (int number = 1; start < data.Length; number++)
        {
            int newline = Array.IndexOf(data, (byte)'\n', start);
            bool terminated = newline >= 0;
            int end = terminated ? newline : data.Length;
            var bytes = new ReadOnlyMemory<byte>(data, start, end - start);
            start = end + 1;
            if (IsBlank(bytes.Span))
                continue;
            object? parsed;
            int? step;
            try
            {
                parsed = MetricsJson.Parse(bytes);
                step = parsed switch
                {
                    StepMetrics m => m.Step,
                    ValidationMetrics v => v.Step,
                    _ => MetricsJson.StepOf(bytes),
                };
            }
            catch (Exception e) when (e is JsonException or FormatException)
            {
                if (!terminated)
                    yield break;
                throw new InvalidDataException($"{path}: line {number}: {e.Message}", e);
            }
            yield return new ScannedLine(bytes, parsed, step);
        }
    }

    private static MetricsHistory History(IEnumerable<ScannedLine> lines)
    {
        var train = new List<StepMetrics>();
        var validation = new List<ValidationMetrics>();
        foreach (var line in lines)
        {
            if (line.Parsed is StepMetrics step)
                train.Add(step);
            else if (line.Parsed is ValidationMetrics val)
                validation.Add(val);
        }
        return new MetricsHistory(train, validation);
    }

    /// <summary>The whole file, even while a <see cref="MetricsLog"/> has it open for writing.</summary>
    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var data = new byte[stream.Length];
        stream.ReadExactly(data);
        return data;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8).IsEmpty;

    /// <summary>
    /// Makes the file end in a newline before appending: a complete last line just gets its newline, a
    /// partial one (a crash mid-write) is cut off, since appending after it would corrupt the next line too.
    /// </summary>
    private static void EndWithCompleteLine(FileStream stream)
    {
        long length = stream.Length;
        if (length == 0)
            return;
        // Our lines are a couple of hundred bytes: the last newline is within the last few KiB.
        var chunk = new byte[(int)Math.Min(length, MaxLineBytes)];
        stream.Position = length - chunk.Length;
        stream.ReadExactly(chunk);
        int newline = Array.LastIndexOf(chunk, (byte)'\n');
        if (newline < 0 && chunk.Length < length)
            throw new InvalidDataException($"{stream.Name}: the last line is longer than {MaxLineBytes} bytes; not a metrics log");
        var tail = chunk.AsSpan(newline + 1).ToArray();
        if (tail.Length == 0)
            return;
        long tailStart = length - tail.Length;
        if (IsBlank(tail) || !ParsesAsLine(tail))
        {
            stream.SetLength(tailStart);
        }
        else
        {
            stream.Seek(0, SeekOrigin.End);
            stream.WriteByte((byte)'\n');
        }
        stream.Flush();
    }

    private static bool ParsesAsLine(byte[] line)
    {
        try
        {
            MetricsJson.Parse(line);
            return true;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return false;
        }
    }
}

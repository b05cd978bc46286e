using System.Text;
using System.Text.Json;
using TinyLlama.Training.Metrics;

namespace TinyLlama.Training.Tests.Metrics;

public class MetricsLogTests
{
    private static StepMetrics Step(int step) =>
        new(step, 10.0 / step + 0.123456789, 4e-4 * step / 7, 1.0 / 3 + step, 1450.25 + step, 0.731 * step, 2048L * step);

    private static void WriteRun(string path, int steps, int validateEvery)
    {
        using var log = new MetricsLog(path);
        for (int s = 1; s <= steps; s++)
        {
            log.Append(Step(s));
            if (s % validateEvery == 0)
                log.Append(new ValidationMetrics(s, 3.0 + 1.0 / s));
        }
    }

    [Fact]
    public void Lines_have_the_documented_fields()
    {
        using var dir = new TempFolder();
        string path = dir.File(MetricsLog.DefaultFileName);
        using (var log = new MetricsLog(path))
        {
            log.Append(new StepMetrics(1, 4.5, 3e-4, 0.75, 1450, 1.5, 2048));
            log.Append(new ValidationMetrics(1, Math.Log(20)));
        }
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        Assert.Equal("""{"step":1,"loss":4.5,"lr":0.0003,"grad_norm":0.75,"tokens_per_s":1450,"elapsed_s":1.5,"tokens":2048}""", lines[0]);
        using var val = JsonDocument.Parse(lines[1]);
        Assert.Equal(1, val.RootElement.GetProperty("step").GetInt32());
        Assert.Equal(Math.Log(20), val.RootElement.GetProperty("val_loss").GetDouble());
        Assert.Equal(20, val.RootElement.GetProperty("val_ppl").GetDouble(), 1e-9);
    }

    [Fact]
    public void Round_trips_exactly()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        WriteRun(path, steps: 25, validateEvery: 10);

        var history = MetricsLog.Read(path);

        Assert.Equal(Enumerable.Range(1, 25).Select(Step), history.Train);
        Assert.Equal([new ValidationMetrics(10, 3.0 + 1.0 / 10), new ValidationMetrics(20, 3.0 + 1.0 / 20)], history.Validation);
        Assert.Equal(Step(25), history.LastTrain);
    }

    [Fact]
    public void Each_line_is_on_disk_before_the_log_is_closed()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        using var log = new MetricsLog(path);
        log.Append(Step(1));
        log.Append(Step(2));
        Assert.Equal(2, MetricsLog.Read(path).Train.Count);
    }

    [Fact]
    public void Non_finite_values_survive_as_named_literals()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        using (var log = new MetricsLog(path))
        {
            log.Append(new StepMetrics(1, double.NaN, 1e-4, double.PositiveInfinity, 0, 0, 0));
            log.Append(new ValidationMetrics(1, double.NegativeInfinity));
        }
        foreach (string line in File.ReadAllLines(path))
            JsonDocument.Parse(line).Dispose(); // still valid JSON

        var history = MetricsLog.Read(path);
        Assert.True(double.IsNaN(history.Train[0].Loss));
        Assert.Equal(double.PositiveInfinity, history.Train[0].GradNorm);
        Assert.Equal(double.NegativeInfinity, history.Validation[0].Loss);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    [InlineData(60)]
    public void A_last_line_cut_by_a_crash_is_skipped(int keptBytes)
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        WriteRun(path, steps: 3, validateEvery: 100);
        File.AppendAllText(path, Encoding.UTF8.GetString(MetricsJsonLine(Step(4)))[..keptBytes]);

        var history = MetricsLog.Read(path);

        Assert.Equal([1, 2, 3], history.Train.Select(m => m.Step));
    }

    [Fact]
    public void A_complete_last_line_without_its_newline_is_kept()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        WriteRun(path, steps: 2, validateEvery: 100);
        File.AppendAllText(path, Encoding.UTF8.GetString(MetricsJsonLine(Step(3))).TrimEnd('\n'));

        Assert.Equal([1, 2, 3], MetricsLog.Read(path).Train.Select(m => m.Step));
    }

    [Fact]
    public void A_malformed_line_in_the_middle_is_an_error_naming_file_and_line()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        WriteRun(path, steps: 2, validateEvery: 100);
        File.AppendAllText(path, "{\"step\":3,\"loss\":\n");
        File.AppendAllBytes(path, MetricsJsonLine(Step(4)));

        var error = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("line 3", error.Message);
    }

    [Fact]
    public void A_missing_field_is_an_error_naming_it()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        File.WriteAllText(path, "{\"step\":1,\"loss\":2.5,\"lr\":0.001}\n");

        var error = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(path));
        Assert.Contains("grad_norm", error.Message);
    }

    [Fact]
    public void Blank_lines_and_lines_of_other_kinds_are_ignored()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        File.WriteAllBytes(path, [.. MetricsJsonLine(Step(1)), .. "\n{\"step\":1,\"event\":\"checkpoint\"}\r\n"u8, .. MetricsJsonLine(Step(2))]);

        Assert.Equal([1, 2], MetricsLog.Read(path).Train.Select(m => m.Step));
    }

    [Fact]
    public void Truncating_then_appending_gives_the_log_of_an_uninterrupted_run()
    {
        using var dir = new TempFolder();
        string uninterrupted = dir.File("a.jsonl"), resumed = dir.File("b.jsonl");
        WriteRun(uninterrupted, steps: 30, validateEvery: 10);

        // The crashed run got to step 27 and half of 28; its last checkpoint is at step 20.
        WriteRun(resumed, steps: 27, validateEvery: 10);
        File.AppendAllText(resumed, "{\"step\":28,\"lo");
        var kept = MetricsLog.TruncateAfter(resumed, 20);
        Assert.Equal(20, kept.LastTrain!.Step);
        Assert.Equal([10, 20], kept.Validation.Select(v => v.Step));

        using (var log = new MetricsLog(resumed, append: true))
        {
            for (int s = 21; s <= 30; s++)
            {
                log.Append(Step(s));
                if (s % 10 == 0)
                    log.Append(new ValidationMetrics(s, 3.0 + 1.0 / s));
            }
        }

        Assert.Equal(File.ReadAllBytes(uninterrupted), File.ReadAllBytes(resumed));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
    }

    [Fact]
    public void Truncating_a_missing_log_leaves_it_missing()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        Assert.Empty(MetricsLog.TruncateAfter(path, 5).Train);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Appending_after_a_cut_line_drops_the_fragment()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        WriteRun(path, steps: 2, validateEvery: 100);
        File.AppendAllText(path, "{\"step\":3,\"loss\":4.");

        using (var log = new MetricsLog(path, append: true))
            log.Append(Step(3));

        Assert.Equal([1, 2, 3], MetricsLog.Read(path).Train.Select(m => m.Step));
        Assert.Equal(3, File.ReadAllLines(path).Length);
    }

    [Fact]
    public void Appending_after_a_complete_line_without_newline_keeps_it()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        File.WriteAllText(path, Encoding.UTF8.GetString(MetricsJsonLine(Step(1))).TrimEnd('\n'));

        using (var log = new MetricsLog(path, append: true))
            log.Append(Step(2));

        Assert.Equal([1, 2], MetricsLog.Read(path).Train.Select(m => m.Step));
    }

    [Fact]
    public void A_new_log_replaces_an_old_one()
    {
        using var dir = new TempFolder();
        string path = dir.File("metrics.jsonl");
        WriteRun(path, steps: 5, validateEvery: 100);
        using (var log = new MetricsLog(path))
            log.Append(Step(1));
        Assert.Single(MetricsLog.Read(path).Train);
    }

    private static byte[] MetricsJsonLine(StepMetrics m) => TinyLlama.Training.Metrics.MetricsJson.Line(m);
}

using System.Globalization;
using System.Xml.Linq;
using TinyLlama.Training.Metrics;

namespace TinyLlama.Training.Tests.Metrics;

public class LossPlotTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static List<StepMetrics> Train(int count, Func<int, double>? loss = null) =>
        Enumerable.Range(1, count)
            .Select(s => new StepMetrics(s, loss?.Invoke(s) ?? 2 + 8.0 / Math.Sqrt(s) + 0.1 * Math.Sin(s), 4e-4, 1, 1000, s, 2048L * s))
            .ToList();

    private static List<ValidationMetrics> Validation(int every, int last) =>
        Enumerable.Range(1, last / every).Select(i => new ValidationMetrics(i * every, 2.2 + 8.0 / Math.Sqrt(i * every))).ToList();

    private static XDocument Render(IReadOnlyList<StepMetrics> train, IReadOnlyList<ValidationMetrics> val, string title = "tiny run")
    {
        var doc = XDocument.Parse(LossPlot.RenderSvg(train, val, title));
        AssertInsideViewBox(doc);
        return doc;
    }

    private static IEnumerable<XElement> Elements(XDocument doc, string name, string? kind = null) =>
        doc.Descendants(Svg + name).Where(e => kind is null || (string?)e.Attribute("class") == kind);

    private static (double X, double Y)[] PolylinePoints(XDocument doc, string kind) =>
        Elements(doc, "polyline", kind).Single().Attribute("points")!.Value
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split(','))
            .Select(p => (double.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToArray();

    /// <summary>Every coordinate the file draws at lies within its viewBox.</summary>
    private static void AssertInsideViewBox(XDocument doc)
    {
        var root = doc.Root!;
        Assert.Equal(Svg + "svg", root.Name);
        double[] box = root.Attribute("viewBox")!.Value.Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        void Inside(double x, double y)
        {
            Assert.InRange(x, box[0], box[0] + box[2]);
            Assert.InRange(y, box[1], box[1] + box[3]);
        }
        double Attr(XElement e, string name) => double.Parse(e.Attribute(name)!.Value, CultureInfo.InvariantCulture);

        foreach (var line in root.Descendants(Svg + "line"))
        {
            Inside(Attr(line, "x1"), Attr(line, "y1"));
            Inside(Attr(line, "x2"), Attr(line, "y2"));
        }
        foreach (var e in root.Descendants().Where(e => e.Name == Svg + "text" || e.Name == Svg + "circle"))
            Inside(Attr(e, e.Name == Svg + "text" ? "x" : "cx"), Attr(e, e.Name == Svg + "text" ? "y" : "cy"));
        foreach (var polyline in root.Descendants(Svg + "polyline"))
        {
            foreach (string p in polyline.Attribute("points")!.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string[] xy = p.Split(',');
                Inside(double.Parse(xy[0], CultureInfo.InvariantCulture), double.Parse(xy[1], CultureInfo.InvariantCulture));
            }
        }
    }

    [Fact]
    public void Draws_every_point_with_a_smoothed_line_validation_markers_legend_and_title()
    {
        var doc = Render(Train(300), Validation(50, 300), "tiny <4 layers> & co");

        Assert.Equal(300, PolylinePoints(doc, "train").Length);
        Assert.Equal(300, PolylinePoints(doc, "train-ema").Length);
        Assert.Equal(6, PolylinePoints(doc, "validation").Length);
        Assert.Equal(6, Elements(doc, "circle", "validation-point").Count());
        Assert.Single(Elements(doc, "g", "legend"));
        Assert.Contains(Elements(doc, "text"), t => t.Value == "tiny <4 layers> & co");
        Assert.Contains(Elements(doc, "text"), t => t.Value == "step");
        Assert.Contains(Elements(doc, "text"), t => t.Value == "loss");
        Assert.Empty(doc.Descendants(Svg + "script"));
    }

    [Fact]
    public void Lower_loss_is_drawn_lower_down_and_later_steps_further_right()
    {
        var doc = Render(Train(50, s => 10.0 / s), []);
        var points = PolylinePoints(doc, "train");
        Assert.True(points.Zip(points.Skip(1)).All(p => p.First.X < p.Second.X && p.First.Y < p.Second.Y));
    }

    [Fact]
    public void Ticks_are_round_numbers()
    {
        var doc = Render(Train(1000, s => 2 + 8.0 / s), []);
        var labels = Elements(doc, "text").Where(t => (string?)t.Attribute("text-anchor") == "end").Select(t => t.Value).ToList();
        Assert.Equal(["2", "4", "6", "8", "10"], labels);
    }

    [Fact]
    public void Non_finite_losses_are_left_out()
    {
        var train = Train(20);
        train[5] = train[5] with { Loss = double.NaN };
        train[9] = train[9] with { Loss = double.PositiveInfinity };
        var doc = Render(train, [new ValidationMetrics(10, double.NaN), new ValidationMetrics(20, 3)]);

        Assert.Equal(18, PolylinePoints(doc, "train").Length);
        Assert.Single(Elements(doc, "circle", "validation-point"));
    }

    [Fact]
    public void No_points_gives_empty_axes()
    {
        var doc = Render([], []);
        Assert.Empty(Elements(doc, "polyline"));
        Assert.Contains(Elements(doc, "text"), t => t.Value == "no data yet");
    }

    [Fact]
    public void One_point_is_a_marker()
    {
        var doc = Render(Train(1), []);
        Assert.Single(PolylinePoints(doc, "train"));
        Assert.Single(Elements(doc, "circle", "train-point"));
    }

    [Fact]
    public void A_constant_loss_is_drawn_mid_height()
    {
        var doc = Render(Train(30, _ => 4.0), []);
        var ys = PolylinePoints(doc, "train").Select(p => p.Y).Distinct().ToList();
        Assert.Single(ys);
        Assert.InRange(ys[0], 100, 350);
    }

    [Fact]
    public void A_long_run_is_thinned_but_keeps_its_spikes()
    {
        var train = Train(100_000, s => s == 77_777 ? 50 : 2 + 1.0 / s);
        var doc = Render(train, Validation(1000, 100_000));

        var points = PolylinePoints(doc, "train");
        Assert.InRange(points.Length, 2, LossPlot.MaxPointsPerLine);
        Assert.Contains(points, p => p.Y < 100); // the spike survives thinning, drawn near the top edge
        Assert.Equal(100, PolylinePoints(doc, "validation").Length);
    }

    [Fact]
    public void Many_evaluations_are_a_line_without_markers()
    {
        var doc = Render(Train(5000), Validation(10, 5000));
        Assert.Equal(500, PolylinePoints(doc, "validation").Length);
        Assert.Empty(Elements(doc, "circle", "validation-point"));
    }

    [Fact]
    public void WriteSvg_replaces_the_file_atomically()
    {
        using var dir = new TempFolder();
        string path = dir.File(LossPlot.DefaultFileName);
        File.WriteAllText(path, "old");

        LossPlot.WriteSvg(path, new MetricsHistory(Train(12), Validation(5, 12)), "run");

        var doc = XDocument.Load(path);
        Assert.Equal(12, PolylinePoints(doc, "train").Length);
        Assert.Equal([LossPlot.DefaultFileName], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }
}

using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace TinyLlama.Training.Metrics;

/// <summary>
/// Draws the training and validation loss as a self-contained SVG: no scripts, no stylesheets, no external
/// fonts, so it opens the same in a browser, an editor preview or a GitHub page.
/// </summary>
/// <remarks>
/// The training loss is drawn thin and light, with an exponential moving average over it in the full colour
/// (once there are enough points for smoothing to mean something); the validation loss is a line with a
/// marker per evaluation. Non-finite losses are left out; a long run is thinned to
/// <see cref="MaxPointsPerLine"/> points per line, keeping each stretch's lowest and highest value.
/// </remarks>
public static class LossPlot
{
    public const string DefaultFileName = "loss.svg";

    /// <summary>The most points one line holds; beyond it the series is thinned (2,000 is more than the
    /// plot's width in pixels, so nothing visible is lost).</summary>
    public const int MaxPointsPerLine = 2000;

    /// <summary>Fewer training points than this are drawn as they are, without a smoothed line.</summary>
    public const int MinPointsForSmoothing = 10;

    /// <summary>A marker per evaluation while they stay distinguishable; beyond that the line says it all.</summary>
    public const int MaxMarkers = 200;

    public const int Width = 800;
    public const int Height = 450;

    // The plot area inside the margins, in SVG units (y grows downwards).
    private const double Left = 72, Right = Width - 24, Top = 56, Bottom = Height - 52;
    private const double CenterX = (Left + Right) / 2, CenterY = (Top + Bottom) / 2;
    private const string TrainRawColour = "#9ecae1", TrainColour = "#1f77b4", ValidationColour = "#d62728";
    private const string Font = "sans-serif";
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>Writes the plot to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void WriteSvg(string path, IReadOnlyList<StepMetrics> train, IReadOnlyList<ValidationMetrics> validation, string title) =>
        AtomicText.Write(path, RenderSvg(train, validation, title));

    public static void WriteSvg(string path, MetricsHistory history, string title) =>
        WriteSvg(path, history.Train, history.Validation, title);

    public static string RenderSvg(IReadOnlyList<StepMetrics> train, IReadOnlyList<ValidationMetrics> validation, string title)
    {
        var trainPoints = PlotSeries.Finite(train.Select(m => ((double)m.Step, m.Loss)));
        var valPoints = PlotSeries.Finite(validation.Select(m => ((double)m.Step, m.Loss)));
        var all = trainPoints.Concat(valPoints).ToList();

        var x = all.Count > 0 ? AxisTicks.For(all.Min(p => p.X), all.Max(p => p.X), 8, minStep: 1) : AxisTicks.For(0, 1, 5, minStep: 1);
        var y = all.Count > 0 ? AxisTicks.For(all.Min(p => p.Y), all.Max(p => p.Y), 6) : AxisTicks.For(0, 1, 5);
        var plot = new PlotArea(x, y);

        var svg = new XElement(Svg + "svg",
            new XAttribute("width", Width), new XAttribute("height", Height),
            new XAttribute("viewBox", $"0 0 {Width} {Height}"),
            new XAttribute("font-family", Font), new XAttribute("font-size", 12),
            new XElement(Svg + "title", title),
            new XElement(Svg + "rect", new XAttribute("width", Width), new XAttribute("height", Height), new XAttribute("fill", "white")),
            Text(Width / 2.0, 24, title, "middle", 16, "bold"),
            Text(Width / 2.0, 42, Summary(trainPoints, valPoints), "middle", 11, fill: "#555"));
        svg.Add(Axes(plot));

        if (all.Count == 0)
            svg.Add(Text(CenterX, CenterY, "no data yet", "middle", 14, fill: "#888"));

        var legend = new List<(string Label, string Colour, bool Marker)>();
        if (trainPoints.Count > 0)
        {
            bool smooth = trainPoints.Count >= MinPointsForSmoothing;
            svg.Add(Line(plot, PlotSeries.Decimate(trainPoints, MaxPointsPerLine), smooth ? TrainRawColour : TrainColour, 1, "train"));
            if (smooth)
                svg.Add(Line(plot, PlotSeries.Decimate(PlotSeries.Ema(trainPoints), MaxPointsPerLine), TrainColour, 2, "train-ema"));
            if (trainPoints.Count == 1)
                svg.Add(Marker(plot, trainPoints[0], TrainColour, "train-point"));
            legend.Add(("train", smooth ? TrainRawColour : TrainColour, false));
            if (smooth)
                legend.Add(("train (EMA)", TrainColour, false));
        }
        if (valPoints.Count > 0)
        {
            svg.Add(Line(plot, PlotSeries.Decimate(valPoints, MaxPointsPerLine), ValidationColour, 1.5, "validation"));
            bool markers = valPoints.Count <= MaxMarkers;
            if (markers)
                svg.Add(valPoints.Select(p => Marker(plot, p, ValidationColour, "validation-point")));
            legend.Add(("validation", ValidationColour, markers));
        }
        svg.Add(Legend(legend));
        return Serialize(svg);
    }

    /// <summary>Data coordinates to SVG coordinates; y grows downwards in SVG.</summary>
    private sealed record PlotArea(AxisTicks X, AxisTicks Y)
    {
        public double Px(double x) => Left + (x - X.Min) / (X.Max - X.Min) * (Right - Left);
        public double Py(double y) => Bottom - (y - Y.Min) / (Y.Max - Y.Min) * (Bottom - Top);
    }

    private static IEnumerable<XElement> Axes(PlotArea plot)
    {
        foreach (double v in plot.Y.Values)
        {
            double py = plot.Py(v);
            yield return Rule(Left, py, Right, py, "#e5e5e5");
            yield return Text(Left - 8, py + 4, plot.Y.Label(v), "end");
        }
        foreach (double v in plot.X.Values)
        {
            double px = plot.Px(v);
            yield return Rule(px, Top, px, Bottom, "#eeeeee");
            yield return Rule(px, Bottom, px, Bottom + 5, "#333");
            yield return Text(px, Bottom + 18, plot.X.Label(v), "middle");
        }
        yield return Rule(Left, Bottom, Right, Bottom, "#333");
        yield return Rule(Left, Top, Left, Bottom, "#333");
        yield return Text(CenterX, Height - 12, "step", "middle", 13);
        var yLabel = Text(18, CenterY, "loss", "middle", 13);
        yLabel.Add(new XAttribute("transform", $"rotate(-90 {F(18)} {F(CenterY)})"));
        yield return yLabel;
    }

    private static XElement Line(PlotArea plot, IEnumerable<(double X, double Y)> points, string colour, double width, string kind) =>
        new(Svg + "polyline",
            new XAttribute("class", kind),
            new XAttribute("points", string.Join(" ", points.Select(p => $"{F(plot.Px(p.X))},{F(plot.Py(p.Y))}"))),
            new XAttribute("fill", "none"), new XAttribute("stroke", colour), new XAttribute("stroke-width", F(width)),
            new XAttribute("stroke-linejoin", "round"));

    private static XElement Marker(PlotArea plot, (double X, double Y) p, string colour, string kind) =>
        new(Svg + "circle", new XAttribute("class", kind),
            new XAttribute("cx", F(plot.Px(p.X))), new XAttribute("cy", F(plot.Py(p.Y))), new XAttribute("r", 3),
            new XAttribute("fill", "white"), new XAttribute("stroke", colour), new XAttribute("stroke-width", "1.5"));

    /// <summary>Top right, inside the plot: early losses are high, so that corner is usually empty.</summary>
    private static XElement? Legend(List<(string Label, string Colour, bool Marker)> entries)
    {
        if (entries.Count == 0)
            return null;
        const double width = 124, row = 18;
        double x0 = Right - width - 8, y0 = Top + 8;
        var group = new XElement(Svg + "g", new XAttribute("class", "legend"),
            new XElement(Svg + "rect", new XAttribute("x", F(x0)), new XAttribute("y", F(y0)),
                new XAttribute("width", F(width)), new XAttribute("height", F(entries.Count * row + 8)),
                new XAttribute("fill", "white"), new XAttribute("fill-opacity", "0.85"), new XAttribute("stroke", "#ccc")));
        for (int i = 0; i < entries.Count; i++)
        {
            var (label, colour, marker) = entries[i];
            double cy = y0 + 4 + row * (i + 0.5);
            group.Add(Rule(x0 + 8, cy, x0 + 32, cy, colour, 2));
            if (marker)
                group.Add(new XElement(Svg + "circle", new XAttribute("cx", F(x0 + 20)), new XAttribute("cy", F(cy)), new XAttribute("r", 3),
                    new XAttribute("fill", "white"), new XAttribute("stroke", colour), new XAttribute("stroke-width", "1.5")));
            group.Add(Text(x0 + 40, cy + 4, label, "start"));
        }
        return group;
    }

    private static string Summary(List<(double X, double Y)> train, List<(double X, double Y)> val)
    {
        var parts = new List<string>();
        if (train.Count > 0)
            parts.Add(FormattableString.Invariant($"train loss {train[^1].Y:0.000} at step {train[^1].X:N0}"));
        if (val.Count > 0)
        {
            var best = val.MinBy(p => p.Y);
            parts.Add(FormattableString.Invariant($"best validation loss {best.Y:0.000} at step {best.X:N0}"));
        }
        return string.Join("  ·  ", parts);
    }

    private static XElement Rule(double x1, double y1, double x2, double y2, string colour, double width = 1) =>
        new(Svg + "line", new XAttribute("x1", F(x1)), new XAttribute("y1", F(y1)), new XAttribute("x2", F(x2)), new XAttribute("y2", F(y2)),
            new XAttribute("stroke", colour), new XAttribute("stroke-width", F(width)));

    private static XElement Text(double x, double y, string text, string anchor, double size = 12, string weight = "normal", string fill = "#222") =>
        new(Svg + "text", new XAttribute("x", F(x)), new XAttribute("y", F(y)), new XAttribute("text-anchor", anchor),
            new XAttribute("font-size", F(size)), new XAttribute("font-weight", weight), new XAttribute("fill", fill), text);

    /// <summary>Two decimals are a hundredth of a pixel: finer digits only make the file bigger.</summary>
    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Serialize(XElement svg)
    {
        var settings = new XmlWriterSettings { Indent = true, OmitXmlDeclaration = true, NewLineChars = "\n" };
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var writer = XmlWriter.Create(text, settings))
            svg.Save(writer);
        return text.ToString() + "\n";
    }
}

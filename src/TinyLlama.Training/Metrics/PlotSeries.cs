namespace TinyLlama.Training.Metrics;

/// <summary>Turns logged values into the points a plot draws.</summary>
internal static class PlotSeries
{
    /// <summary>(x, y) pairs of finite values only: a NaN or infinite loss has no place on the axis.</summary>
    public static List<(double X, double Y)> Finite(IEnumerable<(double X, double Y)> points) =>
        points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();

    /// <summary>
    /// Exponential moving average over the whole series, seeded with the first value. The span grows with
    /// the run (1% of its points, at least 5) so that a long run's curve is as smooth as a short one's; a
    /// longer span would lag visibly behind the steep fall of the first steps.
    /// </summary>
    public static List<(double X, double Y)> Ema(IReadOnlyList<(double X, double Y)> points)
    {
        double span = Math.Max(5, points.Count / 100.0);
        double alpha = 2 / (span + 1);
        var smoothed = new List<(double X, double Y)>(points.Count);
        double ema = points.Count > 0 ? points[0].Y : 0;
        foreach (var (x, y) in points)
        {
            ema += alpha * (y - ema);
            smoothed.Add((x, ema));
        }
        return smoothed;
    }

    /// <summary>
    /// At most <paramref name="maxPoints"/> points that look the same as the series when drawn: the series
    /// is cut into maxPoints/2 runs, and each run keeps its lowest and highest point, in step order. A
    /// million-step run stays a small file and loss spikes stay visible.
    /// </summary>
    public static List<(double X, double Y)> Decimate(IReadOnlyList<(double X, double Y)> points, int maxPoints)
    {
        if (points.Count <= maxPoints)
            return [.. points];
        int buckets = maxPoints / 2;
        var kept = new List<(double X, double Y)>(maxPoints);
        for (int b = 0; b < buckets; b++)
        {
            int start = (int)((long)points.Count * b / buckets);
            int end = (int)((long)points.Count * (b + 1) / buckets);
            int low = start, high = start;
            for (int i = start + 1; i < end; i++)
            {
                if (points[i].Y < points[low].Y) low = i;
                if (points[i].Y > points[high].Y) high = i;
            }
            kept.Add(points[Math.Min(low, high)]);
            if (low != high)
                kept.Add(points[Math.Max(low, high)]);
        }
        return kept;
    }
}

using System.Globalization;

namespace TinyLlama.Training.Metrics;

/// <summary>
/// An axis range widened to round numbers, with ticks at 1, 2 or 5 times a power of ten: the values a
/// person would pick by hand, so the labels read "2.5, 3.0, 3.5" rather than "2.47, 2.93, 3.39".
/// </summary>
internal sealed class AxisTicks
{
    private AxisTicks(double min, double max, double step)
    {
        Step = step;
        // The tolerance keeps a value that is a tick, give or take a rounding error (0.7 / 0.1 = 7.000000000000001),
        // from adding a whole empty interval.
        Min = Math.Floor(min / step + 1e-9) * step;
        Max = Math.Ceiling(max / step - 1e-9) * step;
        int count = (int)Math.Round((Max - Min) / step) + 1;
        // From the index, not by repeated addition, so that rounding errors do not accumulate into the labels.
        Values = Enumerable.Range(0, count).Select(i => Min + i * step).ToArray();
    }

    public double Min { get; }
    public double Max { get; }
    public double Step { get; }
    public IReadOnlyList<double> Values { get; }

    /// <param name="min">Smallest data value (finite).</param>
    /// <param name="max">Largest data value (finite, at least <paramref name="min"/>).</param>
    /// <param name="target">About how many intervals the axis should have.</param>
    /// <param name="minStep">Smallest tick spacing allowed: 1 for an axis of whole steps.</param>
    public static AxisTicks For(double min, double max, int target, double minStep = 0)
    {
        if (max - min <= Math.Max(Math.Abs(max), 1) * 1e-9)
        {
            // A constant series (or a single point) has no range: centre it in one of its own choosing.
            double pad = Math.Max(Math.Abs(max) * 0.05, Math.Max(minStep, 1e-3));
            (min, max) = (min - pad, max + pad);
        }
        double raw = (max - min) / target;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / magnitude;
        double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return new AxisTicks(min, max, Math.Max(nice * magnitude, minStep));
    }

    /// <summary>A tick label with as many decimals as the spacing needs; large values as 20k or 1.5M.</summary>
    public string Label(double value)
    {
        double largest = Math.Max(Math.Abs(Min), Math.Abs(Max));
        (double unit, string suffix) = largest >= 1e6 ? (1e6, "M") : largest >= 1e4 ? (1e3, "k") : (1, "");
        double step = Step / unit;
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        // Snap to the step first: -0.0 and 0.30000000000000004 must print as 0 and 0.3.
        double shown = Math.Round(value / unit, decimals) + 0.0;
        if (shown == 0)
            return "0";
        return shown.ToString("F" + decimals, CultureInfo.InvariantCulture) + suffix;
    }
}

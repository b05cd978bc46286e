using System.Numerics;

namespace TinyLlama.Kernels.Tests;

/// <summary>Comparisons of a kernel's output with its reference. NaN on either side never passes.</summary>
public static class AssertClose
{
    /// <summary>Tolerances of the method (DESIGN.md): f32 1e-5 (reductions 1e-4), f64 1e-12.</summary>
    public static double Elementwise<T>() => typeof(T) == typeof(float) ? 1e-5 : 1e-12;

    public static double Reduction<T>() => typeof(T) == typeof(float) ? 1e-4 : 1e-12;

    /// <summary>
    /// max_i |actual_i − expected_i| / max(|expected_i|, rms(expected)). The rms floor keeps elements that are
    /// near zero by cancellation from demanding more than the arithmetic can give; elsewhere it is the plain
    /// relative error. Returns +∞ when any element is NaN or the lengths differ.
    /// </summary>
    public static double MaxRelativeError<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, out int worstIndex)
        where T : IBinaryFloatingPointIeee754<T>
    {
        worstIndex = -1;
        if (expected.Length != actual.Length) return double.PositiveInfinity;
        double sumSq = 0;
        foreach (T e in expected) sumSq += double.CreateChecked(e) * double.CreateChecked(e);
        double floor = Math.Max(Math.Sqrt(sumSq / Math.Max(1, expected.Length)), double.Epsilon);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateChecked(expected[i]), a = double.CreateChecked(actual[i]);
            double err = double.IsNaN(a) || double.IsNaN(e) ? double.PositiveInfinity : Math.Abs(a - e) / Math.Max(Math.Abs(e), floor);
            if (err > worst || (worstIndex < 0 && double.IsNaN(err))) { worst = err; worstIndex = i; }
        }
        return worst;
    }

    public static void All<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double tolerance, string what)
        where T : IBinaryFloatingPointIeee754<T>
    {
        double err = MaxRelativeError(expected, actual, out int i);
        if (!(err <= tolerance))
        {
            string detail = i < 0 ? $"lengths {expected.Length} vs {actual.Length}" : $"at [{i}] expected {expected[i]}, got {actual[i]}";
            Assert.Fail($"{what} ({typeof(T).Name}): max relative error {err:E3} > {tolerance:E1}, worst {detail}");
        }
    }

    public static void Scalar(double expected, double actual, double tolerance, string what)
    {
        double err = Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-300);
        if (!(err <= tolerance)) Assert.Fail($"{what}: expected {expected}, got {actual} (relative error {err:E3} > {tolerance:E1})");
    }
}

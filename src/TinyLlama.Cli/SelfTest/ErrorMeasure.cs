namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// The error of a fast output against its reference: max|fast − ref| / max(max|ref|, Tiny), per tensor, and the
/// largest over the tensors of a check. Scaling by the tensor's largest magnitude, not each element's, keeps
/// elements that happen to be near zero (where any rounding is a large relative error) from failing a correct kernel.
/// </summary>
internal static class ErrorMeasure
{
    /// <summary>Floor of the scale, so an all-zero reference gives an absolute error instead of a division by zero.</summary>
    public const double Tiny = 1e-30;

    /// <summary>NaN if either tensor holds NaN; +∞ if they differ by an infinity.</summary>
    public static double MaxRelative(ReadOnlySpan<float> fast, ReadOnlySpan<float> reference)
    {
        if (fast.Length != reference.Length)
            throw new InvalidOperationException($"fast output has {fast.Length} elements, reference has {reference.Length}");
        double maxDifference = 0, maxReference = 0;
        for (int i = 0; i < fast.Length; i++)
        {
            double difference = Math.Abs((double)fast[i] - reference[i]);
            // Checked by hand: a NaN must not slip through a comparison that happens to be false.
            if (double.IsNaN(difference) || double.IsNaN(reference[i])) return double.NaN;
            if (difference > maxDifference) maxDifference = difference;
            double magnitude = Math.Abs((double)reference[i]);
            if (magnitude > maxReference) maxReference = magnitude;
        }
        return maxDifference / Math.Max(maxReference, Tiny);
    }

    public static double MaxRelative(IReadOnlyList<float[]> fast, IReadOnlyList<float[]> reference)
    {
        if (fast.Count != reference.Count)
            throw new InvalidOperationException($"fast run returned {fast.Count} tensors, reference {reference.Count}");
        double worst = 0;
        for (int i = 0; i < fast.Count; i++)
        {
            double error = MaxRelative(fast[i], reference[i]);
            if (double.IsNaN(error)) return double.NaN;
            worst = Math.Max(worst, error);
        }
        return worst;
    }
}

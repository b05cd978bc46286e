namespace TinyLlama.Benchmarks;

/// <summary>Inputs and output checks for the GEMM benchmarks: a wrong kernel must never be timed.</summary>
internal static class GemmCheck
{
    /// <summary>Values in [-1, 1], never zero.</summary>
    public static float[] RandomValues(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            float v;
            do v = random.NextSingle() * 2 - 1; while (MathF.Abs(v) < 1e-3f);
            values[i] = v;
        }
        return values;
    }

    /// <summary>f32 budget 1e-5 relative to max(1, max|ref|), widened by √(K/256) past K = 256 (as in the tests).</summary>
    public static double Tolerance(int k) => 1e-5 * Math.Max(1.0, Math.Sqrt(k / 256.0));

    /// <summary>Checks 256 random entries of C = A·B (square, size n) against dot products in double.</summary>
    public static void AgainstSampledReference(float[] a, float[] b, float[] c, int n, Random random)
    {
        double maxDiff = 0, maxRef = 0;
        for (int sample = 0; sample < 256; sample++)
        {
            int i = random.Next(n), j = random.Next(n);
            double sum = 0;
            for (int p = 0; p < n; p++) sum += (double)a[i * n + p] * b[p * n + j];
            maxDiff = Math.Max(maxDiff, Math.Abs(sum - c[i * n + j]));
            maxRef = Math.Max(maxRef, Math.Abs(sum));
            if (float.IsNaN(c[i * n + j])) maxDiff = double.PositiveInfinity;
        }
        Require(maxDiff / Math.Max(1, maxRef), Tolerance(n), n, "a double-precision reference");
    }

    /// <summary>Checks every entry of C against OpenBLAS's result.</summary>
    public static void AgainstBaseline(float[] c, float[] baseline, int n)
    {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < c.Length; i++)
        {
            maxDiff = float.IsNaN(c[i]) ? double.PositiveInfinity : Math.Max(maxDiff, Math.Abs(c[i] - baseline[i]));
            maxRef = Math.Max(maxRef, Math.Abs(baseline[i]));
            if (double.IsInfinity(maxDiff)) break;
        }
        // Two f32 results each within budget of the truth may differ by twice the budget.
        Require(maxDiff / Math.Max(1, maxRef), 2 * Tolerance(n), n, "OpenBLAS");
    }

    private static void Require(double error, double tolerance, int n, string against)
    {
        if (!(error <= tolerance))
            throw new InvalidOperationException($"Gemm.Multiply at M = N = K = {n} disagrees with {against}: relative error {error:E2} > {tolerance:E2}.");
    }
}

namespace TinyLlama.Kernels.Tests;

/// <summary>
/// Helpers for the GPU-kernel tests: inputs are drawn as f32, rounded to bf16 when the bf16 kernel is under test (so
/// the reference sees exactly the values the kernel reads), the reference runs in double, and results are compared
/// with the method's tolerances: f32 1e-5 (reductions 1e-4), bf16 1e-2.
/// </summary>
public static class GpuTestData
{
    public static ushort[] ToBf16(float[] values) => values.Select(BFloat16.FromFloat).ToArray();

    public static float[] Widen(ushort[] values) => values.Select(BFloat16.ToFloat).ToArray();

    /// <summary>The values as bf16 would store them, when <paramref name="bf16"/>; else the values.</summary>
    public static float[] Stored(float[] values, bool bf16) => bf16 ? Widen(ToBf16(values)) : values;

    public static double[] ToDouble(float[] values) => values.Select(v => (double)v).ToArray();

    public static double Tolerance(bool bf16, bool reduction) => bf16 ? 1e-2 : reduction ? 1e-4 : 1e-5;

    public static void Close(double[] expected, float[] actual, bool bf16, bool reduction, string what) =>
        AssertClose.All<double>(expected, ToDouble(actual), Tolerance(bf16, reduction), what + (bf16 ? " [bf16]" : " [f32]"));
}

namespace TinyLlama.Kernels.Tests;

/// <summary>bf16 test data: round f32 inputs to bf16 so that a reference can run on exactly the values a bf16 kernel sees.</summary>
public static class Bf16Data
{
    public static ushort[] Round(ReadOnlySpan<float> values)
    {
        var bits = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++) bits[i] = BFloat16.FromFloat(values[i]);
        return bits;
    }

    public static float[] Widen(ReadOnlySpan<ushort> bits)
    {
        var values = new float[bits.Length];
        for (int i = 0; i < bits.Length; i++) values[i] = BFloat16.ToFloat(bits[i]);
        return values;
    }

    /// <summary>Random values already representable in bf16: (bits, the same values as f32).</summary>
    public static (ushort[] Bits, float[] Values) Array(int length, int seed, double scale = 1)
    {
        ushort[] bits = Round(RandomData.Array<float>(length, seed, scale));
        return (bits, Widen(bits));
    }

    /// <summary>The bf16 tolerance of the method (DESIGN.md).</summary>
    public const double Tolerance = 1e-2;
}

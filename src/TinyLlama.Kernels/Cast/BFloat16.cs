namespace TinyLlama.Kernels;

/// <summary>
/// bfloat16 stored as ushort: the top 16 bits of an IEEE float32. Narrowing rounds to nearest, ties to even;
/// NaN stays NaN (quiet), ±Inf stays ±Inf, values past the largest bf16 round to ±Inf.
/// </summary>
public static partial class BFloat16
{
    public static ushort FromFloat(float value) => throw new NotImplementedException();

    /// <summary>The definition of the rounding, written with double arithmetic; FromFloat is tested against it.</summary>
    public static ushort FromFloatReference(float value) => throw new NotImplementedException();

    public static float ToFloat(ushort bits) => throw new NotImplementedException();

    public static void FromFloat(ReadOnlySpan<float> source, Span<ushort> destination) => throw new NotImplementedException();

    public static void ToFloat(ReadOnlySpan<ushort> source, Span<float> destination) => throw new NotImplementedException();
}

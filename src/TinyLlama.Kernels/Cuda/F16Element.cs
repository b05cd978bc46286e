using ILGPU;

namespace TinyLlama.Kernels;

/// <summary>
/// IEEE half (f16) storage as its ushort bit pattern. ILGPU kernels cannot use <see cref="System.Half"/> (the
/// compiler rejects its bit casts) and ILGPU.Half converts through its own code, so the conversions are written out
/// in integer arithmetic: they run unchanged on the CPU, on ILGPU's CPU accelerator and in PTX, and narrowing rounds
/// to nearest, ties to even, exactly as the <see cref="System.Half"/> cast used by <see cref="HalfCast"/> does.
/// </summary>
public readonly struct F16Element : IGpuElement<ushort>
{
    public float Widen(ushort value) => ToFloat(value);

    public ushort Narrow(float value) => FromFloat(value);

    /// <summary>Exact: every f16 is an f32.</summary>
    public static float ToFloat(ushort half)
    {
        uint sign = (uint)(half & 0x8000) << 16;
        uint exponent = (uint)(half >> 10) & 0x1F;
        uint mantissa = half & 0x3FFu;
        if (exponent == 0x1F) return Interop.IntAsFloat(sign | 0x7F80_0000u | (mantissa << 13)); // Inf, NaN keeps payload
        if (exponent != 0) return Interop.IntAsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13)); // rebias 15 → 127
        // Subnormal or zero: mantissa × 2^-24, exact in f32 (mantissa < 2^10).
        float magnitude = mantissa * 5.9604644775390625E-8f;
        return sign != 0 ? -magnitude : magnitude;
    }

    /// <summary>Round to nearest, ties to even; overflow to ±Inf, underflow through the subnormals to ±0; NaN stays a quiet NaN.</summary>
    public static ushort FromFloat(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        uint sign = (bits >> 16) & 0x8000u;
        uint magnitude = bits & 0x7FFF_FFFFu;
        if (magnitude > 0x7F80_0000u) return (ushort)(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu)); // NaN, quiet bit set
        if (magnitude >= 0x477F_F000u) return (ushort)(sign | 0x7C00u); // ≥ 65520, the midpoint above 65504, and Inf
        if (magnitude >= 0x3880_0000u)
        {
            // Normal f16 (≥ 2^-14): the same carry trick as bf16 over the 13 dropped bits, then rebias 127 → 15.
            uint rounded = magnitude + 0x0FFFu + ((magnitude >> 13) & 1u);
            return (ushort)(sign | ((rounded - 0x3800_0000u) >> 13));
        }
        if (magnitude <= 0x3300_0000u) return (ushort)sign; // ≤ 2^-25: half the smallest subnormal or less, ties go to even 0
        // Subnormal f16: the value in units of 2^-24 is the 24-bit significand shifted right by 126 - exponent (14..24).
        int shift = 126 - (int)(magnitude >> 23);
        uint significand = (magnitude & 0x007F_FFFFu) | 0x0080_0000u;
        uint kept = significand >> shift;
        uint dropped = significand & ((1u << shift) - 1u);
        uint halfway = 1u << (shift - 1);
        if (dropped > halfway || (dropped == halfway && (kept & 1u) != 0)) kept++;
        return (ushort)(sign | kept);
    }
}

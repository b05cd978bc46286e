using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlama.Kernels;

/// <summary>
/// bfloat16 stored as ushort: the top 16 bits of an IEEE float32. Narrowing rounds to nearest, ties to even;
/// NaN stays NaN (quiet), ±Inf stays ±Inf, values past the largest bf16 round to ±Inf.
/// </summary>
public static partial class BFloat16
{
    const uint QuietBit = 0x0040; // top mantissa bit of a bf16: set, so a NaN stays a NaN after truncation

    /// <summary>
    /// Adding 0x7FFF plus the kept lowest bit to the float's bits carries into the kept half exactly when the
    /// discarded half is above one half, or equal to it with an odd kept half: round to nearest, ties to even.
    /// The carry out of the largest finite values lands on the Inf pattern, which is the right overflow.
    /// </summary>
    public static ushort FromFloat(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | QuietBit);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>The definition of the rounding, written with double arithmetic; FromFloat is tested against it.</summary>
    public static ushort FromFloatReference(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | QuietBit);
        if (float.IsInfinity(value)) return (ushort)(bits >> 16);
        ushort sign = (ushort)(bits >> 16 & 0x8000);
        // The two bf16 magnitudes around |value|: truncation below, and the next one up. Above the largest
        // finite bf16 the next pattern is Inf; for the midpoint test it stands for 2^128, the value an
        // unbounded exponent would give, which is how IEEE defines overflow under round-to-nearest.
        ushort below = (ushort)((bits >> 16) & 0x7FFF), above = (ushort)(below + 1);
        double magnitude = Math.Abs((double)value);
        double low = ToFloat(below), high = above == 0x7F80 ? Math.Pow(2, 128) : ToFloat(above);
        double toLow = magnitude - low, toHigh = high - magnitude; // exact: both fit easily in a double
        bool pickHigh = toHigh < toLow || (toHigh == toLow && (below & 1) == 1);
        return (ushort)(sign | (pickHigh ? above : below));
    }

    public static float ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    public static void FromFloat(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        KernelArgs.Length("BFloat16.FromFloat", "destination", destination.Length, source.Length, "source.Length");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float src = ref MemoryMarshal.GetReference(source);
            ref ushort dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - 16; i += 16)
            {
                var lo = Round(Vector256.LoadUnsafe(ref src, (nuint)i));
                var hi = Round(Vector256.LoadUnsafe(ref src, (nuint)(i + 8)));
                Vector256.Narrow(lo, hi).StoreUnsafe(ref dst, (nuint)i); // values are < 2^16: narrowing keeps them
            }
        }
        for (; i < source.Length; i++) destination[i] = FromFloat(source[i]);
    }

    public static void ToFloat(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        KernelArgs.Length("BFloat16.ToFloat", "destination", destination.Length, source.Length, "source.Length");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref float dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - 16; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                (lo << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i);
                (hi << 16).AsSingle().StoreUnsafe(ref dst, (nuint)(i + 8));
            }
        }
        for (; i < source.Length; i++) destination[i] = ToFloat(source[i]);
    }

    /// <summary>Eight lanes of <see cref="FromFloat(float)"/>, result in the low 16 bits of each lane.</summary>
    static Vector256<uint> Round(Vector256<float> value)
    {
        var bits = value.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var quietNaN = (bits >> 16) | Vector256.Create(QuietBit);
        var isNaN = ~Vector256.Equals(value, value).AsUInt32();
        return Vector256.ConditionalSelect(isNaN, quietNaN, rounded);
    }
}

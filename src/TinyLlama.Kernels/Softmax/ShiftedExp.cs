using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlama.Kernels;

/// <summary>
/// exp(x − shift) for softmax-like code, where the shift is the row max or the log-sum-exp, so the argument is
/// at most a rounding error above 0. TensorPrimitives.Exp measured about 3 ns a float on the 2-core AVX2 machine
/// (docs/kernels.md), which left softmax and cross-entropy compute-bound; the float path here is a short
/// polynomial, accurate to a few ulp, fused with the subtraction and the sum. Doubles go to TensorPrimitives.
/// </summary>
internal static class ShiftedExp
{
    // exp(r) for |r| ≤ ln2/2 by its Taylor series to r⁷: the first term left out is below 6e-9 relative.
    const float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;
    const float Log2E = 1.44269504f;
    const float Ln2Hi = 0.693145752f;        // ln 2 split in two (Cody–Waite) so k·Ln2Hi is exact for |k| < 2^11
    const float Ln2Lo = 1.42860677e-6f;
    const float Lowest = -87.33654f;         // below ln(2^-126) the result is not a normal float: give 0
    const float Highest = 88f;               // keeps 2^k normal (k ≤ 127); arguments here are ≤ ~0 anyway

    /// <summary>destination = exp(x − shift); returns Σ destination (in double across blocks). destination may be x.</summary>
    public static double Apply<T>(ReadOnlySpan<T> x, T shift, Span<T> destination)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
            return ApplyFloat(MemoryMarshal.Cast<T, float>(x), Unsafe.As<T, float>(ref shift), MemoryMarshal.Cast<T, float>(destination));
        TensorPrimitives.Subtract(x, shift, destination);
        TensorPrimitives.Exp(destination, destination);
        return double.CreateChecked(TensorPrimitives.Sum<T>(destination));
    }

    static double ApplyFloat(ReadOnlySpan<float> x, float shift, Span<float> destination)
    {
        ref float rx = ref MemoryMarshal.GetReference(x), rd = ref MemoryMarshal.GetReference(destination);
        var vShift = Vector256.Create(shift);
        Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero;
        int i = 0, n = x.Length;
        for (; i <= n - 16; i += 16)
        {
            var e0 = Exp(Vector256.LoadUnsafe(ref rx, (nuint)i) - vShift);
            var e1 = Exp(Vector256.LoadUnsafe(ref rx, (nuint)(i + 8)) - vShift);
            e0.StoreUnsafe(ref rd, (nuint)i);
            e1.StoreUnsafe(ref rd, (nuint)(i + 8));
            a0 += e0;
            a1 += e1;
        }
        double sum = Vector256.Sum(a0 + a1);
        for (; i < n; i++)
        {
            float e = MathF.Exp(Unsafe.Add(ref rx, i) - shift);
            Unsafe.Add(ref rd, i) = e;
            sum += e;
        }
        return sum;
    }

    /// <summary>exp(x) = 2^k · exp(r), k = round(x·log2 e), r = x − k·ln 2.</summary>
    internal static Vector256<float> Exp(Vector256<float> x)
    {
        var clamped = Vector256.Min(Vector256.Max(x, Vector256.Create(Lowest)), Vector256.Create(Highest));
        var k = Vector256.Round(clamped * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(k, Vector256.Create(-Ln2Hi), clamped);
        r = Vector256.FusedMultiplyAdd(k, Vector256.Create(-Ln2Lo), r);

        var p = Vector256.FusedMultiplyAdd(Vector256.Create(C7), r, Vector256.Create(C6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);

        var twoToK = ((Vector256.ConvertToInt32(k) + Vector256.Create(127)) << 23).AsSingle();
        var result = p * twoToK;
        result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(Lowest)), Vector256<float>.Zero, result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x); // NaN in, NaN out
    }
}

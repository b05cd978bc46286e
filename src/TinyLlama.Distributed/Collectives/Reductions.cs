using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TinyLlama.Kernels;

namespace TinyLlama.Distributed;

/// <summary>
/// The arithmetic of the all-reduce: adding a neighbour's segment into this rank's, in f32 or in bf16 (widened to
/// f32, added, rounded back to nearest-even). A divisor other than 0 divides the sum, which is how the rank that
/// finishes a chunk turns a sum into an average with a single rounding.
/// </summary>
internal static class Reductions
{
    public static void AddF32(Span<float> accumulator, ReadOnlySpan<float> incoming, float divisor)
    {
        TensorPrimitives.Add(accumulator, incoming, accumulator);
        if (divisor != 0) TensorPrimitives.Divide(accumulator, divisor, accumulator);
    }

    public static void AddBf16(Span<ushort> accumulator, ReadOnlySpan<ushort> incoming, float divisor)
    {
        if (incoming.Length != accumulator.Length) throw new ArgumentException("bf16 add: lengths differ");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort acc = ref MemoryMarshal.GetReference(accumulator);
            ref ushort inc = ref MemoryMarshal.GetReference(incoming);
            var scale = Vector256.Create(divisor == 0 ? 1f : divisor);
            for (; i <= accumulator.Length - 16; i += 16)
            {
                var (aLo, aHi) = Vector256.Widen(Vector256.LoadUnsafe(ref acc, (nuint)i));
                var (bLo, bHi) = Vector256.Widen(Vector256.LoadUnsafe(ref inc, (nuint)i));
                var lo = (aLo << 16).AsSingle() + (bLo << 16).AsSingle();
                var hi = (aHi << 16).AsSingle() + (bHi << 16).AsSingle();
                if (divisor != 0)
                {
                    lo /= scale;
                    hi /= scale;
                }
                Vector256.Narrow(RoundToBf16(lo), RoundToBf16(hi)).StoreUnsafe(ref acc, (nuint)i);
            }
        }
        for (; i < accumulator.Length; i++)
        {
            float sum = BFloat16.ToFloat(accumulator[i]) + BFloat16.ToFloat(incoming[i]);
            accumulator[i] = BFloat16.FromFloat(divisor == 0 ? sum : sum / divisor);
        }
    }

    /// <summary>
    /// destination = (gathered[0] + gathered[1] + … + gathered[ranks−1]) / divisor, summed in rank order so that
    /// every rank, doing the same sum, gets the same bits.
    /// </summary>
    public static void SumRanksF32(ReadOnlySpan<float> gathered, int ranks, Span<float> destination, float divisor)
    {
        int n = destination.Length;
        gathered[..n].CopyTo(destination);
        for (int r = 1; r < ranks; r++) TensorPrimitives.Add(destination, gathered.Slice(r * n, n), destination);
        if (divisor != 0) TensorPrimitives.Divide(destination, divisor, destination);
    }

    /// <summary>The bf16 form of <see cref="SumRanksF32"/>: summed in f32 in rank order, rounded once at the end.</summary>
    public static void SumRanksBf16(ReadOnlySpan<ushort> gathered, int ranks, Span<ushort> destination, Span<float> accumulator, float divisor)
    {
        int n = destination.Length;
        var acc = accumulator[..n];
        BFloat16.ToFloat(gathered[..n], acc);
        Span<float> widened = stackalloc float[256];
        for (int r = 1; r < ranks; r++)
        {
            var part = gathered.Slice(r * n, n);
            for (int start = 0; start < n; start += widened.Length)
            {
                int len = Math.Min(widened.Length, n - start);
                BFloat16.ToFloat(part.Slice(start, len), widened[..len]);
                TensorPrimitives.Add(acc.Slice(start, len), widened[..len], acc.Slice(start, len));
            }
        }
        if (divisor != 0) TensorPrimitives.Divide(acc, divisor, acc);
        BFloat16.FromFloat(acc, destination);
    }

    /// <summary>Round to nearest even into the low 16 bits of each lane; NaN stays a quiet NaN (as <see cref="BFloat16.FromFloat(float)"/>).</summary>
    static Vector256<uint> RoundToBf16(Vector256<float> value)
    {
        var bits = value.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var quietNaN = (bits >> 16) | Vector256.Create(0x0040u);
        var isNaN = ~Vector256.Equals(value, value).AsUInt32();
        return Vector256.ConditionalSelect(isNaN, quietNaN, rounded);
    }
}

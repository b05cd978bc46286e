namespace TinyLlama.Data.Packed;

/// <summary>
/// A seeded bijection on [0, n), evaluated one element at a time: <c>this[i]</c> is the i-th element of a
/// shuffled order of 0..n-1.
/// </summary>
/// <remarks>
/// Why not an array shuffle: TinyLlama's data is ~460M blocks of 2049 tokens; a Fisher–Yates permutation of
/// that is 3.7 GB of longs per rank per epoch and must be rebuilt on resume. A Feistel network is a
/// permutation by construction, costs nothing to store, and gives element i in O(1), which is what makes
/// the sampler's state a handful of counters.
/// How: split the smallest even-bit domain 2^2h ≥ n into two h-bit halves and run six rounds of
/// (L, R) ← (R, L xor F_k(R)), F a keyed SplitMix64 hash. Values that land in [n, 2^2h) are encrypted again
/// ("cycle walking") until they fall inside [n); since 2^2h &lt; 4n this takes under four rounds on average and
/// keeps the map a bijection on [0, n). The order is not a uniformly random permutation in the cryptographic
/// sense, but it is a thorough, seed-dependent shuffle, which is all training needs.
/// </remarks>
public readonly struct FeistelPermutation
{
    private readonly ulong _k0, _k1, _k2, _k3, _k4, _k5;
    private readonly int _halfBits;
    private readonly ulong _halfMask;

    public long Count { get; }

    public FeistelPermutation(long count, ulong key)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        Count = count;
        int bits = count <= 1 ? 1 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(count - 1));
        _halfBits = Math.Max(1, (bits + 1) / 2);
        _halfMask = (1UL << _halfBits) - 1;
        var rng = new SplitMix64(key);
        _k0 = rng.Next(); _k1 = rng.Next(); _k2 = rng.Next();
        _k3 = rng.Next(); _k4 = rng.Next(); _k5 = rng.Next();
    }

    public long this[long index]
    {
        get
        {
            if ((ulong)index >= (ulong)Count)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"outside [0, {Count})");
            ulong x = (ulong)index;
            do x = Encrypt(x); while (x >= (ulong)Count);
            return (long)x;
        }
    }

    private ulong Encrypt(ulong x)
    {
        ulong left = x >> _halfBits, right = x & _halfMask;
        Round(ref left, ref right, _k0);
        Round(ref left, ref right, _k1);
        Round(ref left, ref right, _k2);
        Round(ref left, ref right, _k3);
        Round(ref left, ref right, _k4);
        Round(ref left, ref right, _k5);
        return (left << _halfBits) | right;
    }

    private void Round(ref ulong left, ref ulong right, ulong key)
    {
        ulong next = left ^ (SplitMix64.Hash(key, right) & _halfMask);
        left = right;
        right = next;
    }
}

namespace TinyLlama.Data.Packed;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, well-mixed 64-bit generator and hash. The sampler uses
/// it instead of <see cref="Random"/>, whose algorithm .NET does not promise to keep across versions: a
/// shuffle must be the same on every rank, on every machine, and after an upgrade in the middle of a run.
/// </summary>
public struct SplitMix64(ulong seed)
{
    private const ulong Golden = 0x9E3779B97F4A7C15;
    private ulong _state = seed;

    public ulong Next()
    {
        _state += Golden;
        return Mix(_state);
    }

    /// <summary>The SplitMix64 finaliser: a bijection on 64-bit values that spreads every input bit.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>A hash of a key and a value; different keys give unrelated streams.</summary>
    public static ulong Hash(ulong key, ulong value) => Mix(Mix(key + Golden) ^ unchecked(value + 2 * Golden));

    public static ulong Hash(ulong key, ulong a, ulong b) => Hash(Hash(key, a), b);

    /// <summary>A uniform double in [0, 1) from the top 53 bits.</summary>
    public static double ToUnit(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));
}

namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// Seeded inputs for one check. Each check draws from its own generator, seeded by the run's seed and the check's
/// name, so adding or reordering checks does not change the data any other check sees, and a failure replays with
/// the same --seed.
/// </summary>
internal sealed class RandomData(int seed, string checkName)
{
    // System.Random with an explicit seed is the same sequence on every run and platform.
    private readonly Random _random = new(Mix(seed, checkName));

    /// <summary>Uniform in [-1, 1]: real data, not zeros, which would hide a kernel that writes nothing.</summary>
    public float[] Uniform(int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(_random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>Uniform integers in [0, maxExclusive).</summary>
    public int[] Integers(int length, int maxExclusive)
    {
        var values = new int[length];
        for (int i = 0; i < length; i++) values[i] = _random.Next(maxExclusive);
        return values;
    }

    public bool Chance(double probability) => _random.NextDouble() < probability;

    /// <summary>An output buffer filled with NaN, so an element the kernel forgets to write fails the check.</summary>
    public static float[] Poisoned(int length)
    {
        var values = new float[length];
        Array.Fill(values, float.NaN);
        return values;
    }

    // string.GetHashCode is randomized per process; FNV-1a is stable.
    private static int Mix(int seed, string name)
    {
        uint hash = 2166136261;
        foreach (char c in name) hash = (hash ^ c) * 16777619;
        return (int)(hash ^ (uint)seed * 2654435761u);
    }
}

using System.Numerics;

namespace TinyLlama.Kernels.Tests;

/// <summary>Seeded random inputs. Never zeros: a kernel that ignores its input must not pass by accident.</summary>
public static class RandomData
{
    /// <summary>Uniform in [−scale, −scale/64] ∪ [scale/64, scale].</summary>
    public static void Fill<T>(Span<T> destination, int seed, double scale = 1)
        where T : IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        for (int i = 0; i < destination.Length; i++)
        {
            double magnitude = scale * (1.0 / 64 + (1 - 1.0 / 64) * random.NextDouble());
            destination[i] = T.CreateChecked(random.Next(2) == 0 ? -magnitude : magnitude);
        }
    }

    public static T[] Array<T>(int length, int seed, double scale = 1)
        where T : IBinaryFloatingPointIeee754<T>
    {
        var a = new T[length];
        Fill<T>(a, seed, scale);
        return a;
    }

    /// <summary>An output buffer full of NaN, so any element the kernel forgets to write fails the comparison.</summary>
    public static T[] Poisoned<T>(int length) where T : IBinaryFloatingPointIeee754<T>
    {
        var a = new T[length];
        a.AsSpan().Fill(T.NaN);
        return a;
    }

    public static int[] Ints(int length, int seed, int maxExclusive)
    {
        var random = new Random(seed);
        var a = new int[length];
        for (int i = 0; i < a.Length; i++) a[i] = random.Next(maxExclusive);
        return a;
    }
}

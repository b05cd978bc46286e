using System.Runtime.InteropServices;

namespace TinyLlama.Kernels.Tests.Cuda;

/// <summary>f16 and packed-bf16 helpers: on the CPU against System.Half and the bf16 reference, then the kernels on the CPU accelerator.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public class HalfPrecisionTests(CpuAcceleratorFixture gpu)
{
    // Edge cases of f16 rounding: its overflow midpoint, the subnormal range and its ties, plus random magnitudes.
    static float[] Interesting(int seed)
    {
        var rng = new Random(seed);
        var values = new List<float>
        {
            0f, -0f, 1f, -1f, 65504f, -65504f, 65519.996f, 65520f, 65536f, float.MaxValue, float.Epsilon,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN,
            MathF.Pow(2, -14), MathF.Pow(2, -24), MathF.Pow(2, -25), MathF.Pow(2, -25) * 1.0000001f, MathF.Pow(2, -26),
            1.5f * MathF.Pow(2, -24), 2.5f * MathF.Pow(2, -24), 1 + MathF.Pow(2, -11), 1 + 3 * MathF.Pow(2, -11),
            BitConverter.UInt32BitsToSingle(0x7FC1_2345), // NaN with a payload
        };
        for (int i = 0; i < 4000; i++)
            values.Add(BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32))); // every bit pattern is fair game
        for (int i = 0; i < 4000; i++)
            values.Add((float)(rng.NextDouble() * 2 - 1) * MathF.Pow(2, rng.Next(-27, 17)));
        return [.. values];
    }

    static ushort SystemHalfBits(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    [Fact]
    public void F16NarrowingMatchesSystemHalfForEveryInput()
    {
        foreach (float value in Interesting(3))
        {
            ushort expected = SystemHalfBits(value), actual = F16Element.FromFloat(value);
            if (float.IsNaN(value)) Assert.True(Half.IsNaN(BitConverter.UInt16BitsToHalf(actual)), $"{value} gave 0x{actual:X4}");
            else Assert.True(expected == actual, $"{value:R} (0x{BitConverter.SingleToUInt32Bits(value):X8}) gave 0x{actual:X4}, System.Half 0x{expected:X4}");
        }
    }

    [Fact]
    public void F16WideningIsExactForAllPatterns()
    {
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)bits), actual = F16Element.ToFloat((ushort)bits);
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(actual), $"0x{bits:X4}");
            else Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(actual));
        }
    }

    [Fact]
    public void F16ElementAgreesWithHalfCastOverSpans()
    {
        float[] values = Interesting(4).Where(v => !float.IsNaN(v)).ToArray();
        var viaHalfCast = new ushort[values.Length];
        HalfCast.FromFloat(values, viaHalfCast);
        Assert.Equal(viaHalfCast, values.Select(v => default(F16Element).Narrow(v)).ToArray());
    }

    [Fact]
    public void Bf16PairsPackTheEvenElementLowAsMemoryDoes()
    {
        var rng = new Random(9);
        for (int i = 0; i < 2000; i++)
        {
            float a = (float)(rng.NextDouble() * 200 - 100), b = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
            uint pair = Bf16Pairs.Pack(a, b);
            ushort[] asMemory = [BFloat16.FromFloatReference(a), BFloat16.FromFloatReference(b)];
            Assert.Equal(MemoryMarshal.Cast<ushort, uint>(asMemory)[0], pair);
            Assert.Equal(BFloat16.ToFloat(asMemory[0]), Bf16Pairs.Low(pair));
            Assert.Equal(BitConverter.SingleToUInt32Bits(BFloat16.ToFloat(asMemory[1])), BitConverter.SingleToUInt32Bits(Bf16Pairs.High(pair)));
            Assert.Equal(pair, Bf16Pairs.Pack(Bf16Pairs.LowBits(pair), Bf16Pairs.HighBits(pair)));
        }
    }

    [Fact]
    public void F16KernelsMatchSystemHalfOnTheCpuAccelerator()
    {
        float[] source = Interesting(5);
        using var src = gpu.Upload<float>(source);
        using var narrow = gpu.Poisoned<ushort>(source.Length);
        using var wide = gpu.Poisoned<float>(source.Length);
        var kernels = gpu.Kernels.Get<HalfPrecisionGpu>();
        kernels.FloatToF16(gpu.Stream, src.View, narrow.View);
        kernels.F16ToFloat(gpu.Stream, narrow.View, wide.View);
        ushort[] halves = gpu.Download(narrow);
        float[] widened = gpu.Download(wide);
        for (int i = 0; i < source.Length; i++)
        {
            if (float.IsNaN(source[i]))
            {
                Assert.True(float.IsNaN(widened[i]), $"element {i}: NaN came back as {widened[i]}");
                continue;
            }
            Assert.True(SystemHalfBits(source[i]) == halves[i], $"element {i}: {source[i]:R} gave 0x{halves[i]:X4}, expected 0x{SystemHalfBits(source[i]):X4}");
            Assert.Equal((float)BitConverter.UInt16BitsToHalf(halves[i]), widened[i]);
        }
    }

    [Fact]
    public void Bf16PairKernelsMatchTheReferenceOnTheCpuAccelerator()
    {
        float[] source = Interesting(6);
        if (source.Length % 2 == 1) source = source[..^1];
        using var src = gpu.Upload<float>(source);
        using var pairs = gpu.Poisoned<uint>(source.Length / 2);
        using var back = gpu.Poisoned<float>(source.Length);
        var kernels = gpu.Kernels.Get<HalfPrecisionGpu>();
        kernels.PackBf16Pairs(gpu.Stream, src.View, pairs.View);
        kernels.UnpackBf16Pairs(gpu.Stream, pairs.View, back.View);
        uint[] packed = gpu.Download(pairs);
        float[] unpacked = gpu.Download(back);
        ushort[] asBf16 = MemoryMarshal.Cast<uint, ushort>(packed).ToArray();
        for (int i = 0; i < source.Length; i++)
        {
            Assert.True(BFloat16.FromFloatReference(source[i]) == asBf16[i], $"element {i}: {source[i]:R} gave 0x{asBf16[i]:X4}");
            Assert.Equal(BitConverter.SingleToUInt32Bits(BFloat16.ToFloat(asBf16[i])), BitConverter.SingleToUInt32Bits(unpacked[i]));
        }
    }

    [Fact]
    public void PairKernelsRefuseMismatchedLengths()
    {
        using var src = gpu.Upload<float>(new float[7]);
        using var pairs = gpu.Poisoned<uint>(3);
        Assert.Throws<ArgumentException>(() => gpu.Kernels.Get<HalfPrecisionGpu>().PackBf16Pairs(gpu.Stream, src.View, pairs.View));
    }
}

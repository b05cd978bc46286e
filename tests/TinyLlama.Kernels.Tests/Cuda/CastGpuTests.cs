namespace TinyLlama.Kernels.Tests.Cuda;

[Collection(CpuAcceleratorCollection.Name)]
public class CastGpuTests(CpuAcceleratorFixture gpu)
{
    // Values that exercise rounding: ties both ways, subnormals, the overflow edge, NaN and the infinities.
    static float[] Interesting()
    {
        var rng = new Random(11);
        var values = new List<float>
        {
            0f, -0f, 1f, -1f, float.Epsilon, -float.Epsilon, 1e-40f, float.MaxValue, -float.MaxValue,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN,
            BitConverter.UInt32BitsToSingle(0x3F80_8000), // a tie with an even kept half: stays
            BitConverter.UInt32BitsToSingle(0x3F81_8000), // a tie with an odd kept half: rounds up
            BitConverter.UInt32BitsToSingle(0x7F7F_FFFF), // rounds past the largest bf16 to Inf
        };
        for (int i = 0; i < 1000; i++) values.Add((float)(rng.NextDouble() * 2 - 1) * MathF.Pow(2, rng.Next(-30, 30)));
        return [.. values];
    }

    [Fact]
    public void FloatToBf16MatchesTheCpuReferenceBitForBit()
    {
        float[] source = Interesting();
        using var src = gpu.Upload<float>(source);
        using var dst = gpu.Poisoned<ushort>(source.Length);
        gpu.Kernels.Get<CastGpu>().Convert(gpu.Stream, src.View, dst.View);
        ushort[] actual = gpu.Download(dst);
        for (int i = 0; i < source.Length; i++)
            Assert.True(BFloat16.FromFloatReference(source[i]) == actual[i],
                $"element {i}: {source[i]:R} gave 0x{actual[i]:X4}, expected 0x{BFloat16.FromFloatReference(source[i]):X4}");
    }

    [Fact]
    public void Bf16ToFloatIsExact()
    {
        ushort[] source = Enumerable.Range(0, 1 << 16).Where(i => i % 7 == 0).Select(i => (ushort)i).ToArray();
        using var src = gpu.Upload<ushort>(source);
        using var dst = gpu.Poisoned<float>(source.Length);
        gpu.Kernels.Get<CastGpu>().Convert(gpu.Stream, src.View, dst.View);
        float[] actual = gpu.Download(dst);
        for (int i = 0; i < source.Length; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(BFloat16.ToFloat(source[i])), BitConverter.SingleToUInt32Bits(actual[i]));
    }

    [Fact]
    public void MismatchedLengthsAreRefusedBeforeLaunch()
    {
        using var src = gpu.Upload<float>(new float[5]);
        using var dst = gpu.Poisoned<ushort>(4);
        var error = Assert.Throws<ArgumentException>(() => gpu.Kernels.Get<CastGpu>().Convert(gpu.Stream, src.View, dst.View));
        Assert.Contains("destination has 4 elements", error.Message);
    }
}

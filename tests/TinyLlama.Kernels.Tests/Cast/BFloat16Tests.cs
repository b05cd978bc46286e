namespace TinyLlama.Kernels.Tests;

public class BFloat16Tests
{
    static float F(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    [Fact]
    public void EveryBf16Value_RoundTripsExactly()
    {
        for (int b = 0; b <= ushort.MaxValue; b++)
        {
            float f = BFloat16.ToFloat((ushort)b);
            Assert.Equal((uint)b << 16, BitConverter.SingleToUInt32Bits(f));
            ushort back = BFloat16.FromFloat(f);
            if (float.IsNaN(f)) Assert.True(float.IsNaN(BFloat16.ToFloat(back)), $"NaN 0x{b:X4} came back as 0x{back:X4}");
            else Assert.Equal((ushort)b, back);
            Assert.Equal(back, BFloat16.FromFloatReference(f));
        }
    }

    [Theory]
    [InlineData(0x3F808000u, 0x3F80)] // 1 + half an ulp, kept bit even: ties go down
    [InlineData(0x3F818000u, 0x3F82)] // kept bit odd: ties go up to even
    [InlineData(0x3F808001u, 0x3F81)] // just above the tie: up
    [InlineData(0x3F807FFFu, 0x3F80)] // just below the tie: down
    [InlineData(0xBF818000u, 0xBF82)] // the sign does not change the rule
    [InlineData(0x00008000u, 0x0000)] // subnormal tie, even: down to +0
    [InlineData(0x00018000u, 0x0002)] // subnormal tie, odd: up
    [InlineData(0x007F8000u, 0x0080)] // largest subnormal rounds up into the smallest normal
    [InlineData(0x80000000u, 0x8000)] // −0 keeps its sign
    public void Rounding_IsToNearestEven(uint floatBits, int expected)
    {
        Assert.Equal((ushort)expected, BFloat16.FromFloat(F(floatBits)));
        Assert.Equal((ushort)expected, BFloat16.FromFloatReference(F(floatBits)));
    }

    [Theory]
    [InlineData(0x7F7FFFFFu, 0x7F80)] // float max is past the last bf16 midpoint: +Inf
    [InlineData(0x7F7F8000u, 0x7F80)] // exactly the midpoint, kept bit odd: +Inf
    [InlineData(0x7F7F7FFFu, 0x7F7F)] // just below it: the largest bf16
    [InlineData(0xFF7FFFFFu, 0xFF80)] // and −Inf on the negative side
    [InlineData(0x7F800000u, 0x7F80)] // Inf stays Inf
    [InlineData(0xFF800000u, 0xFF80)]
    public void Overflow_GoesToInfinity(uint floatBits, int expected)
    {
        Assert.Equal((ushort)expected, BFloat16.FromFloat(F(floatBits)));
        Assert.Equal((ushort)expected, BFloat16.FromFloatReference(F(floatBits)));
    }

    [Theory]
    [InlineData(0x7FC00000u, 0x7FC0)] // quiet NaN
    [InlineData(0x7F800001u, 0x7FC0)] // signalling NaN whose payload would truncate to Inf: quieted, stays NaN
    [InlineData(0xFF800001u, 0xFFC0)] // and keeps its sign
    [InlineData(0x7FFFFFFFu, 0x7FFF)] // would carry into the sign if it were rounded like a number
    public void NaN_StaysQuietNaN(uint floatBits, int expected)
    {
        Assert.Equal((ushort)expected, BFloat16.FromFloat(F(floatBits)));
        Assert.Equal((ushort)expected, BFloat16.FromFloatReference(F(floatBits)));
    }

    [Fact]
    public void Fast_MatchesReference_OnRandomBitPatterns()
    {
        // Random 32-bit patterns cover every exponent, subnormals and NaNs; the span version runs on the same input.
        const int n = 2_000_000;
        var random = new Random(71);
        var source = new float[n];
        for (int i = 0; i < n; i++) source[i] = F((uint)random.NextInt64(0, 1L << 32));
        var fast = new ushort[n];
        BFloat16.FromFloat(source, fast);
        for (int i = 0; i < n; i++)
        {
            ushort expected = BFloat16.FromFloatReference(source[i]);
            if (fast[i] != expected || BFloat16.FromFloat(source[i]) != expected)
                Assert.Fail($"0x{BitConverter.SingleToUInt32Bits(source[i]):X8}: reference 0x{expected:X4}, " +
                    $"scalar 0x{BFloat16.FromFloat(source[i]):X4}, span 0x{fast[i]:X4}");
        }
    }

    [Fact]
    public void SpanVersions_MatchScalar_IncludingTails()
    {
        foreach (int n in new[] { 0, 1, 15, 16, 17, 33, 1000 })
        {
            var source = RandomData.Array<float>(n, 72, 1e4);
            var bits = new ushort[n];
            BFloat16.FromFloat(source, bits);
            var back = new float[n];
            BFloat16.ToFloat(bits, back);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(BFloat16.FromFloat(source[i]), bits[i]);
                Assert.Equal(BFloat16.ToFloat(bits[i]), back[i]);
            }
        }
    }

    [Fact]
    public void BadLengths_NameTheOp()
    {
        var ex = Assert.Throws<ArgumentException>(() => BFloat16.FromFloat(new float[3], new ushort[2]));
        Assert.Contains("BFloat16.FromFloat: destination has 2 elements, expected source.Length = 3", ex.Message);
    }
}

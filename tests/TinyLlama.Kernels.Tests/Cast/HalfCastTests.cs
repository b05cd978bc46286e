namespace TinyLlama.Kernels.Tests;

public class HalfCastTests
{
    [Fact]
    public void Spans_MatchTheScalarHalfCast()
    {
        var source = RandomData.Array<float>(1001, 81, 70000); // past Half.MaxValue (65504): some go to Inf
        source[0] = float.NaN;
        source[1] = 1e-7f; // subnormal in f16
        var halves = new Half[source.Length];
        var bits = new ushort[source.Length];
        HalfCast.FromFloat(source, halves);
        HalfCast.FromFloat(source, bits);
        var back = new float[source.Length];
        HalfCast.ToFloat(bits, back);
        for (int i = 0; i < source.Length; i++)
        {
            Half expected = (Half)source[i];
            Assert.Equal(expected, halves[i]);
            Assert.Equal(BitConverter.HalfToUInt16Bits(halves[i]), bits[i]);
            Assert.Equal((float)expected, back[i]);
        }
    }

    [Fact]
    public void EveryHalfValue_RoundTripsThroughFloat()
    {
        var bits = new ushort[65536];
        for (int i = 0; i < bits.Length; i++) bits[i] = (ushort)i;
        var floats = new float[bits.Length];
        HalfCast.ToFloat(bits, floats);
        var back = new ushort[bits.Length];
        HalfCast.FromFloat(floats, back);
        for (int i = 0; i < bits.Length; i++)
            if (!Half.IsNaN(BitConverter.UInt16BitsToHalf((ushort)i))) Assert.Equal((ushort)i, back[i]);
    }

    [Fact]
    public void BadLengths_NameTheOp()
    {
        var ex = Assert.Throws<ArgumentException>(() => HalfCast.ToFloat(new Half[3], new float[4]));
        Assert.Contains("HalfCast.ToFloat: destination has 4 elements, expected source.Length = 3", ex.Message);
    }
}

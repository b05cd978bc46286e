using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class CpuChecks
{
    private static IEnumerable<KernelCheck> BFloat16Checks(SelfTestShapes shapes, int seed)
    {
        int count = shapes.Bf16Count;
        string shape = $"n={count}";
        var random = new RandomData(seed, "bf16 round");
        var values = random.Uniform(count);
        // Random floats almost never sit exactly halfway between two bf16 values; make every fourth one a tie
        // (low 16 bits 0x8000), the case where round-to-nearest-even differs from rounding half up.
        for (int i = 0; i < count; i += 4)
            values[i] = BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(values[i]) & ~0xFFFF) | 0x8000);

        IReadOnlyList<float[]> RunReference()
        {
            var bits = new ushort[count];
            for (int i = 0; i < count; i++) bits[i] = BFloat16.FromFloatReference(values[i]);
            return [Widen(bits)];
        }
        IReadOnlyList<float[]> RunScalar()
        {
            var bits = new ushort[count];
            for (int i = 0; i < count; i++) bits[i] = BFloat16.FromFloat(values[i]);
            return [Widen(bits)];
        }
        IReadOnlyList<float[]> RunSpan()
        {
            var bits = new ushort[count];
            BFloat16.FromFloat(values, bits);
            return [Widen(bits)];
        }
        yield return new KernelCheck("bf16 round (scalar)", shape, Tolerances.Exact, RunScalar, RunReference);
        yield return new KernelCheck("bf16 round (span)", shape, Tolerances.Exact, RunSpan, RunReference);
    }

    // bf16 is the top half of a float32; widened here rather than with BFloat16.ToFloat so this check
    // does not lean on another kernel under test.
    private static float[] Widen(ushort[] bits)
    {
        var widened = new float[bits.Length];
        for (int i = 0; i < bits.Length; i++) widened[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
        return widened;
    }
}

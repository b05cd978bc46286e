using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// The GPU self-test: each GPU kernel against the same references the CPU checks use, on the device being tested,
/// printed in the same table. Inputs go up through the pinned transfer path and results come back through it, so a
/// broken transfer fails every row.
///
/// The runtime's own checks (casts and transfers) come first, then one partial file per op (GpuChecks.&lt;Op&gt;.cs).
///
/// The reference side is the CPU SIMD kernel (X.Forward, X.Backward), not the scalar X.ForwardReference: at the GPU
/// preset's sizes (16384 rows of 2048, a 2048³ GEMM) the scalar references take minutes, and the SIMD kernels are
/// themselves held to the scalar references by the CPU self-test and the unit tests. bf16 rows compare against the
/// reference run in f32 on the same bf16-rounded inputs, with the bf16 tolerance (<see cref="Bf16Tolerance"/>).
/// </summary>
internal static partial class GpuChecks
{
    /// <summary>bf16 storage rounds every stored value to 8 significant bits: DESIGN.md's bf16 tolerance.</summary>
    public const double Bf16Tolerance = 1e-2;

    public static IReadOnlyList<KernelCheck> Create(GpuDevice device, SelfTestShapes shapes, int seed) =>
    [
        .. CastChecks(device, shapes, seed),
        .. NormalizationChecks(device, shapes, seed),
        .. RopeChecks(device, shapes, seed),
        .. SwiGluChecks(device, shapes, seed),
        .. CrossEntropyChecks(device, shapes, seed),
        .. EmbeddingChecks(device, shapes, seed),
        .. OptimizerChecks(device, shapes, seed),
        .. ElementwiseChecks(device, shapes, seed),
        .. GemmChecks(device, shapes, seed),
        .. AttentionChecks(device, shapes, seed),
    ];

    /// <summary>The two storage types of a kernel that has both; the label goes into the row's name.</summary>
    private static readonly (bool Bf16, string Label)[] Storages = [(false, "f32"), (true, "bf16")];

    private static double Tolerance(bool bf16, double f32Tolerance) => bf16 ? Bf16Tolerance : f32Tolerance;

    private static IEnumerable<KernelCheck> CastChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        int count = shapes.Bf16Count;
        string shape = $"n={count}";
        var values = new RandomData(seed, "gpu casts").Uniform(count);
        // Every fourth value a bf16 tie (low 16 bits 0x8000), where round-to-nearest-even differs from rounding half up.
        for (int i = 0; i < count; i += 4)
            values[i] = BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(values[i]) & ~0xFFFF) | 0x8000);

        yield return new KernelCheck("cast f32→bf16 (gpu)", shape, Tolerances.Exact,
            () => [Widen(OnDevice<float, ushort>(device, values, (cast, s, from, to) => cast.Kernels.Get<CastGpu>().Convert(s, from, to)))],
            () => [Widen(values.Select(BFloat16.FromFloatReference).ToArray())]);

        ushort[] bf16 = values.Select(BFloat16.FromFloatReference).ToArray();
        yield return new KernelCheck("cast bf16→f32 (gpu)", shape, Tolerances.Exact,
            () => [OnDevice<ushort, float>(device, bf16, (cast, s, from, to) => cast.Kernels.Get<CastGpu>().Convert(s, from, to))],
            () => [Widen(bf16)]);

        yield return new KernelCheck("cast f32→f16 (gpu)", shape, Tolerances.Exact,
            () => [WidenHalf(OnDevice<float, ushort>(device, values, (d, s, from, to) => d.Kernels.Get<HalfPrecisionGpu>().FloatToF16(s, from, to)))],
            () => [values.Select(v => (float)(System.Half)v).ToArray()]);

        yield return new KernelCheck("transfer round trip (gpu)", shape, Tolerances.Exact,
            () => [OnDevice<float, float>(device, values, (d, s, from, to) => from.CopyTo(s, to))],
            () => [values]);
    }

    private delegate void DeviceRun<TIn, TOut>(GpuDevice device, AcceleratorStream stream, ArrayView<TIn> input, ArrayView<TOut> output)
        where TIn : unmanaged where TOut : unmanaged;

    /// <summary>Uploads the input, runs one kernel into a poisoned output, downloads it; blocks go back to the device's allocator.</summary>
    private static unsafe TOut[] OnDevice<TIn, TOut>(GpuDevice device, TIn[] input, DeviceRun<TIn, TOut> run)
        where TIn : unmanaged where TOut : unmanaged
    {
        using var from = device.Memory.Allocate((long)input.Length * sizeof(TIn));
        using var to = device.Memory.Allocate((long)input.Length * sizeof(TOut));
        device.Transfers.Upload<TIn>(input, from.View<TIn>(input.Length));
        var poison = new byte[input.Length * sizeof(TOut)];
        Array.Fill(poison, (byte)0xFF); // NaN in every float lane: an element the kernel skips fails the check
        device.Transfers.Upload<byte>(poison, to.Bytes);
        run(device, device.Stream, from.View<TIn>(input.Length), to.View<TOut>(input.Length));
        var result = new TOut[input.Length];
        device.Transfers.Download(to.View<TOut>(input.Length), result);
        return result;
    }

    private static float[] Widen(ushort[] bf16) => bf16.Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray();

    private static float[] WidenHalf(ushort[] f16) => f16.Select(h => (float)BitConverter.UInt16BitsToHalf(h)).ToArray();
}

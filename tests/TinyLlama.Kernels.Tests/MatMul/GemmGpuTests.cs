using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>
/// The GPU GEMM on ILGPU's CPU accelerator, against a double-precision scalar product of the same bf16 (or f32)
/// inputs. The tensor-core kernel runs with its inline PTX emulated at the register level, so its tiling, swizzle,
/// fragments, pipeline and edges are all exercised; shapes are a few groups at most (every simulated lane is an OS
/// thread). C is poisoned (all bits set, NaN) where it is not an input, so an unwritten element fails, and the
/// elements of C outside the product are checked to be left exactly as they were.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class GemmGpuTests(CpuAcceleratorFixture gpu)
{
    static readonly GemmGpuOptions TensorCore = new() { Path = GemmGpuPath.TensorCore };
    static readonly GemmGpuOptions CpAsync = TensorCore with { Pipeline = GemmGpuPipeline.CpAsync };
    static readonly GemmGpuOptions Simt = new() { Path = GemmGpuPath.Simt };

    GemmGpu Gemm => gpu.Kernels.Get<GemmGpu>();

    public static TheoryData<bool, bool, GemmGpuPipeline> TransposesAndPipelines()
    {
        var data = new TheoryData<bool, bool, GemmGpuPipeline>();
        foreach (var pipeline in new[] { GemmGpuPipeline.RegisterStaged, GemmGpuPipeline.CpAsync })
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
            data.Add(transA, transB, pipeline);
        return data;
    }

    [Theory]
    [MemberData(nameof(TransposesAndPipelines))]
    public void TensorCoreOneTileEveryTranspose(bool transA, bool transB, GemmGpuPipeline pipeline) =>
        Run(new Case(transA, transB, 128, 128, 32) { Options = TensorCore with { Pipeline = pipeline } });

    [Theory]
    [MemberData(nameof(TransposesAndPipelines))]
    public void TensorCoreRaggedEveryTranspose(bool transA, bool transB, GemmGpuPipeline pipeline) =>
        Run(new Case(transA, transB, 17, 9, 23) { Options = TensorCore with { Pipeline = pipeline } });

    [Theory]
    [InlineData(false, true, GemmGpuPipeline.RegisterStaged)]
    [InlineData(true, false, GemmGpuPipeline.CpAsync)]
    public void TensorCoreRaggedAcrossTilesInEveryDimension(bool transA, bool transB, GemmGpuPipeline pipeline) =>
        Run(new Case(transA, transB, 129, 70, 40) { Options = TensorCore with { Pipeline = pipeline } });

    [Fact]
    public void TensorCoreBf16OutputAccumulatesIntoC() =>
        Run(new Case(false, false, 40, 24, 48) { Options = TensorCore, Bf16Output = true, Alpha = 0.5f, Beta = 1f });

    [Fact]
    public void TensorCoreF32OutputWithAlphaAndBeta() =>
        Run(new Case(true, true, 33, 17, 70) { Options = TensorCore, Alpha = -1.5f, Beta = 0.25f });

    [Fact]
    public void TensorCoreBatchedWithPaddedRowsAndABroadcastB() =>
        Run(new Case(false, true, 20, 12, 24) { Options = TensorCore, Batch = 3, Padding = 8, BroadcastB = true });

    [Fact]
    public void TensorCoreCpAsyncBatched() =>
        Run(new Case(true, true, 20, 12, 40) { Options = CpAsync, Batch = 2, Padding = 8, Beta = 1f });

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void TensorCorePipelineDepths(int stages) =>
        Run(new Case(false, false, 24, 16, 136) { Options = CpAsync with { Stages = stages } });

    [Fact]
    public void TensorCoreUnalignedLeadingDimensionsTakeTheGuardedLoads() =>
        Run(new Case(true, false, 19, 13, 37) { Options = TensorCore, Padding = 3 });

    [Theory]
    [InlineData(GemmGpuPipeline.RegisterStaged)]
    [InlineData(GemmGpuPipeline.CpAsync)]
    public void TensorCoreForcedScalarLoads(GemmGpuPipeline pipeline) =>
        Run(new Case(false, true, 16, 16, 40) { Options = TensorCore with { ScalarLoads = true, Pipeline = pipeline }, Bf16Output = true });

    [Fact]
    public void KZeroScalesC() =>
        Run(new Case(false, false, 9, 5, 0) { Options = TensorCore, Beta = 0.5f, Alpha = 2f });

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void SimtF32EveryTranspose(bool transA, bool transB) =>
        Run(new Case(transA, transB, 37, 33, 45) { Options = Simt, F32Inputs = true, Alpha = 0.75f, Beta = 0.5f });

    [Fact]
    public void SimtBf16F32Batched() =>
        Run(new Case(true, false, 21, 34, 19) { Options = Simt, Batch = 2, Padding = 5 });

    [Fact]
    public void SimtBf16OutputAccumulates() =>
        Run(new Case(false, true, 33, 31, 64) { Options = Simt, Bf16Output = true, Beta = 1f });

    [Fact]
    public void TensorCoreAndSimtAgree()
    {
        // Same bf16 inputs through both kernels; each within its bound of the reference, hence of each other.
        Run(new Case(true, true, 48, 40, 56) { Options = TensorCore, Seed = 99 });
        Run(new Case(true, true, 48, 40, 56) { Options = Simt, Seed = 99 });
    }

    [Fact]
    public void TestBuffersAreAlignedSoTheVectorLoadsAreExercised()
    {
        // The 16-byte paths (cp.async, or one ld.global.v4 per chunk) are taken only for 16-byte aligned operands;
        // the tests above with ld a multiple of 8 rely on the CPU accelerator's buffers being aligned.
        using var buffer = gpu.Upload<ushort>(new ushort[40]);
        Assert.True(GemmGpu.CanCopy16(View(buffer, 40).LoadEffectiveAddressAsPtr().ToInt64(), 8, 16));
        Assert.False(GemmGpu.CanCopy16(View(buffer, 40).SubView(1, 16).LoadEffectiveAddressAsPtr().ToInt64(), 8, 16));
        Assert.False(GemmGpu.CanCopy16(0, 12, 0));
        Assert.False(GemmGpu.CanCopy16(0, 8, 4));
    }

    /// <summary>One product: random operands, a poisoned or random C, the kernel, then the per-element check.</summary>
    sealed record Case(bool TransA, bool TransB, int M, int N, int K)
    {
        public int Batch { get; init; } = 1;
        public int Padding { get; init; }
        public bool BroadcastB { get; init; }
        public float Alpha { get; init; } = 1f;
        public float Beta { get; init; }
        public bool Bf16Output { get; init; }
        public bool F32Inputs { get; init; }
        public GemmGpuOptions Options { get; init; }
        public int Seed { get; init; } = 7;
    }

    void Run(Case t)
    {
        var random = new Random(t.Seed);
        int rowsA = t.TransA ? t.K : t.M, colsA = t.TransA ? t.M : t.K;
        int rowsB = t.TransB ? t.N : t.K, colsB = t.TransB ? t.K : t.N;
        int lda = Math.Max(1, colsA) + t.Padding, ldb = Math.Max(1, colsB) + t.Padding, ldc = Math.Max(1, t.N) + t.Padding;
        // Batch entries are separated by a gap as well, so strides are not just rows·ld.
        long strideA = (long)rowsA * lda + t.Padding, strideC = (long)t.M * ldc + t.Padding;
        long strideB = t.BroadcastB ? 0 : (long)rowsB * ldb + t.Padding;
        int lengthA = Length(t.Batch, strideA, rowsA, colsA, lda);
        int lengthB = Length(t.BroadcastB ? 1 : t.Batch, strideB, rowsB, colsB, ldb);
        int lengthC = Length(t.Batch, strideC, t.M, t.N, ldc);

        // Inputs are bf16 values (exactly representable), held as f32 for the reference.
        float[] a = RandomValues(random, lengthA, roundToBf16: !t.F32Inputs);
        float[] b = RandomValues(random, lengthB, roundToBf16: !t.F32Inputs);
        float[] c0 = t.Beta != 0 ? RandomValues(random, lengthC, roundToBf16: t.Bf16Output) : Poison(lengthC);
        if (t.Bf16Output) c0 = c0.Select(x => BFloat16.ToFloat(BFloat16.FromFloat(x))).ToArray(); // what C holds as bf16

        float[] actual = Launch(t, a, lda, strideA, b, ldb, strideB, c0, ldc, strideC);

        var inWindow = new bool[lengthC];
        for (int e = 0; e < t.Batch; e++)
        for (int i = 0; i < t.M; i++)
        for (int j = 0; j < t.N; j++)
        {
            long ci = e * strideC + (long)i * ldc + j;
            inWindow[ci] = true;
            double sum = 0, magnitude = 0;
            for (int p = 0; p < t.K; p++)
            {
                double x = a[e * strideA + (t.TransA ? (long)p * lda + i : (long)i * lda + p)];
                double y = b[e * strideB + (t.TransB ? (long)j * ldb + p : (long)p * ldb + j)];
                sum += x * y;
                magnitude += Math.Abs(x * y);
            }
            double prior = t.Beta != 0 ? t.Beta * (double)c0[ci] : 0;
            double expected = t.Alpha * sum + prior;
            double bound = Bound(t, magnitude * Math.Abs(t.Alpha) + Math.Abs(prior), expected);
            double error = Math.Abs(actual[ci] - expected);
            Assert.True(error <= bound,
                $"{t}: C[{e}][{i}, {j}] = {actual[ci]}, expected {expected} (error {error:E2} > bound {bound:E2})");
        }
        for (int ci = 0; ci < lengthC; ci++)
        {
            if (!inWindow[ci] && BitConverter.SingleToUInt32Bits(actual[ci]) != BitConverter.SingleToUInt32Bits(c0[ci]))
                Assert.Fail($"{t}: C[{ci}] outside the product was overwritten with {actual[ci]}");
        }
    }

    /// <summary>
    /// Products of bf16 values are exact in f32, so the f32 result differs from the exact one by the rounding of at
    /// most K + 3 additions and multiplications (the sum, alpha, beta·C, the final add), each at most 2^-24 of the
    /// magnitudes involved: |error| ≤ (K + 3)·2^-24·(|alpha|·Σ|a·b| + |beta·c|), whatever the order of the sum. The
    /// test allows 4× that (the hardware's accumulation order and internal rounding are unspecified), which for the
    /// sizes here is far below the DESIGN.md bf16 tolerance of 1e-2. A bf16 output adds its own rounding, half a unit
    /// in the 8th bit: 2^-9·|result|, allowed as 2^-8.
    /// </summary>
    static double Bound(Case t, double magnitude, double expected)
    {
        double f32 = 4 * (t.K + 3) * Math.Pow(2, -24) * magnitude + 1e-30;
        return t.Bf16Output ? f32 + Math.Pow(2, -8) * Math.Abs(expected) : f32;
    }

    float[] Launch(Case t, float[] a, int lda, long strideA, float[] b, int ldb, long strideB, float[] c0, int ldc, long strideC)
    {
        if (t.F32Inputs)
        {
            using var da = gpu.Upload<float>(a);
            using var db = gpu.Upload<float>(b);
            using var dc = gpu.Upload<float>(c0);
            Gemm.MultiplyBatched(gpu.Stream, t.TransA, t.TransB, t.M, t.N, t.K, t.Alpha, View(da, a.Length), lda, strideA,
                View(db, b.Length), ldb, strideB, t.Beta, View(dc, c0.Length), ldc, strideC, t.Batch, t.Options);
            return gpu.Download(View(dc, c0.Length));
        }
        using var ha = gpu.Upload<ushort>(ToBf16(a));
        using var hb = gpu.Upload<ushort>(ToBf16(b));
        if (t.Bf16Output)
        {
            using var hc = gpu.Upload<ushort>(ToBf16(c0));
            Gemm.MultiplyBatched(gpu.Stream, t.TransA, t.TransB, t.M, t.N, t.K, t.Alpha, View(ha, a.Length), lda, strideA,
                View(hb, b.Length), ldb, strideB, t.Beta, View(hc, c0.Length), ldc, strideC, t.Batch, t.Options);
            return gpu.Download(View(hc, c0.Length)).Select(BFloat16.ToFloat).ToArray();
        }
        using var fc = gpu.Upload<float>(c0);
        Gemm.MultiplyBatched(gpu.Stream, t.TransA, t.TransB, t.M, t.N, t.K, t.Alpha, View(ha, a.Length), lda, strideA,
            View(hb, b.Length), ldb, strideB, t.Beta, View(fc, c0.Length), ldc, strideC, t.Batch, t.Options);
        return gpu.Download(View(fc, c0.Length));
    }

    static ArrayView<T> View<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, int length) where T : unmanaged =>
        buffer.View.SubView(0, length);

    static int Length(int batch, long stride, int rows, int cols, int ld) =>
        (int)((batch - 1) * stride + GemmTestHelpers.Extent(rows, cols, ld));

    static float[] RandomValues(Random random, int count, bool roundToBf16)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            double v;
            do v = random.NextDouble() * 2 - 1; while (Math.Abs(v) < 1e-3);
            values[i] = roundToBf16 ? BFloat16.ToFloat(BFloat16.FromFloat((float)v)) : (float)v;
        }
        return values;
    }

    /// <summary>All bits set: a NaN as f32, and (as bf16, 0xFFFF) a NaN as well.</summary>
    static float[] Poison(int count) => Enumerable.Repeat(BitConverter.UInt32BitsToSingle(0xFFFF_FFFF), count).ToArray();

    static ushort[] ToBf16(float[] values) => values.Select(BFloat16.FromFloat).ToArray();
}

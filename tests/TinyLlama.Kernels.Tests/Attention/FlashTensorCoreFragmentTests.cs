using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests;

/// <summary>
/// The m16n8k16 bf16 MMA of <see cref="FlashTensorCore"/> on one warp, fragments built from the layout written in its doc
/// comment (the PTX ISA's), against a plain 16×16 · 16×8 product plus C in double. On the CPU accelerator this checks
/// the shuffle emulation; on a GPU the same kernel would check the real instruction and that the layout is PTX's.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class FlashTensorCoreFragmentTests(CpuAcceleratorFixture gpu)
{
    /// <summary>a: (16, 16) bf16 row-major; b: (16, 8) bf16 row-major (k, n); c, d: (16, 8) f32. One warp.</summary>
    static void MmaKernel(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<float> c, ArrayView<float> d)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        float d0 = c[g * 8 + 2 * t], d1 = c[g * 8 + 2 * t + 1], d2 = c[(g + 8) * 8 + 2 * t], d3 = c[(g + 8) * 8 + 2 * t + 1];
        FlashTensorCore.MmaBf16(ref d0, ref d1, ref d2, ref d3,
            PairA(a, g, 2 * t), PairA(a, g + 8, 2 * t), PairA(a, g, 2 * t + 8), PairA(a, g + 8, 2 * t + 8), PairB(b, 2 * t, g), PairB(b, 2 * t + 8, g));
        d[g * 8 + 2 * t] = d0;
        d[g * 8 + 2 * t + 1] = d1;
        d[(g + 8) * 8 + 2 * t] = d2;
        d[(g + 8) * 8 + 2 * t + 1] = d3;
    }

    /// <summary>A[row][col, col+1] packed, the lower column in the low half.</summary>
    static uint PairA(ArrayView<ushort> a, int row, int col) => a[row * 16 + col] | ((uint)a[row * 16 + col + 1] << 16);

    /// <summary>B[k, k+1][n] packed, the lower k in the low half.</summary>
    static uint PairB(ArrayView<ushort> b, int k, int n) => b[k * 8 + n] | ((uint)b[(k + 1) * 8 + n] << 16);

    [Fact]
    public void MmaM16N8K16MatchesTheMatrixProduct()
    {
        var rng = new Random(5);
        ushort[] a = Enumerable.Range(0, 256).Select(_ => BFloat16.FromFloat((float)(rng.NextDouble() * 2 - 1))).ToArray();
        ushort[] b = Enumerable.Range(0, 128).Select(_ => BFloat16.FromFloat((float)(rng.NextDouble() * 2 - 1))).ToArray();
        float[] c = Enumerable.Range(0, 128).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var expected = new double[128];
        for (int i = 0; i < 16; i++)
            for (int n = 0; n < 8; n++)
            {
                double sum = c[i * 8 + n];
                for (int k = 0; k < 16; k++) sum += (double)BFloat16.ToFloat(a[i * 16 + k]) * BFloat16.ToFloat(b[k * 8 + n]);
                expected[i * 8 + n] = sum;
            }

        var kernel = gpu.Accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>(MmaKernel);
        using var da = gpu.Upload<ushort>(a);
        using var db = gpu.Upload<ushort>(b);
        using var dc = gpu.Upload<float>(c);
        using var dd = gpu.Poisoned<float>(128);
        kernel(gpu.Stream, new KernelConfig(1, 32), da.View, db.View, dc.View, dd.View);
        AssertClose.All<double>(expected, Array.ConvertAll(gpu.Download(dd), x => (double)x), 1e-5, "m16n8k16 bf16 mma");
    }
}

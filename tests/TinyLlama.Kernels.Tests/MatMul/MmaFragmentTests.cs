using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels.Tests.Cuda;

namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>
/// The m16n8k16 and ldmatrix fragment layouts on their own, one warp each. On the CPU accelerator this checks the
/// emulation against the PTX ISA's layouts written out here a second time, independently of MmaPtx.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class MmaFragmentTests(CpuAcceleratorFixture gpu)
{
    [Fact]
    public void MmaTileEqualsTheScalarProductOnBf16Inputs() => CheckMmaTile(gpu.Accelerator);

    [Fact]
    public void LdmatrixDeliversTheDocumentedElementsPlainAndTransposed() => CheckLdmatrix(gpu.Accelerator);

    internal static void CheckMmaTile(Accelerator accelerator)
    {
        var random = new Random(5);
        ushort[] a = RandomBf16(random, 16 * 16), b = RandomBf16(random, 16 * 8);
        float[] c = Enumerable.Range(0, 16 * 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        using var da = GemmGpuCheck.Upload<ushort>(accelerator, a);
        using var db = GemmGpuCheck.Upload<ushort>(accelerator, b);
        using var dc = GemmGpuCheck.Upload<float>(accelerator, c);
        using var dd = GemmGpuCheck.Upload<float>(accelerator, Enumerable.Repeat(float.NaN, 16 * 8).ToArray());
        var kernel = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>(
            MmaProbeKernels.MmaTile);
        kernel(accelerator.DefaultStream, new KernelConfig(1, 32, SharedMemoryConfig.RequestDynamic<GemmKernels.Chunk16>(4 * MmaPtx.ScratchWordsPerWarp / 16)), da.View, db.View, dc.View, dd.View);
        float[] d = GemmGpuCheck.Download(accelerator, GemmGpuCheck.View(dd, 16 * 8));
        for (int i = 0; i < 16; i++)
        for (int j = 0; j < 8; j++)
        {
            double expected = c[i * 8 + j];
            for (int p = 0; p < 16; p++) expected += (double)BFloat16.ToFloat(a[i * 16 + p]) * BFloat16.ToFloat(b[p * 8 + j]);
            // 16 exact products summed in f32: a few ulps of the largest partial sum.
            Assert.True(Math.Abs(d[i * 8 + j] - expected) <= 1e-5 * 16, $"D[{i}, {j}] = {d[i * 8 + j]}, expected {expected}");
        }
    }

    internal static void CheckLdmatrix(Accelerator accelerator)
    {
        // Element (r, c) holds r·16 + c: every register names the two elements it carries.
        ushort[] matrix = Enumerable.Range(0, 256).Select(i => (ushort)i).ToArray();
        using var dm = GemmGpuCheck.Upload<ushort>(accelerator, matrix);
        using var dout = GemmGpuCheck.Upload<uint>(accelerator, Enumerable.Repeat(0xFFFF_FFFFu, 32 * 8).ToArray());
        var kernel = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<uint>>(MmaProbeKernels.Ldmatrix);
        kernel(accelerator.DefaultStream, new KernelConfig(1, 32, SharedMemoryConfig.RequestDynamic<GemmKernels.Chunk16>((512 + 4 * MmaPtx.ScratchWordsPerWarp) / 16)), dm.View, dout.View);
        uint[] output = GemmGpuCheck.Download(accelerator, GemmGpuCheck.View(dout, 32 * 8));
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane >> 2, t = lane & 3;
            for (int j = 0; j < 4; j++)
            {
                int rowBase = 8 * (j & 1), colBase = 8 * (j >> 1);
                // Plain: row g, columns 2t and 2t+1 of block j — exactly the A fragment register j of an m16n8k16.
                uint plain = Pair(rowBase + g, colBase + 2 * t, rowBase + g, colBase + 2 * t + 1);
                // Transposed: rows 2t and 2t+1, column g of block j.
                uint transposed = Pair(rowBase + 2 * t, colBase + g, rowBase + 2 * t + 1, colBase + g);
                Assert.True(plain == output[lane * 8 + j], $"lane {lane} R{j}: 0x{output[lane * 8 + j]:X8}, expected 0x{plain:X8}");
                Assert.True(transposed == output[lane * 8 + 4 + j],
                    $"lane {lane} trans R{j}: 0x{output[lane * 8 + 4 + j]:X8}, expected 0x{transposed:X8}");
            }
        }
    }

    static uint Pair(int r0, int c0, int r1, int c1) => (uint)(r0 * 16 + c0) | ((uint)(r1 * 16 + c1) << 16);

    internal static ushort[] RandomBf16(Random random, int count)
    {
        var values = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            double v;
            do v = random.NextDouble() * 2 - 1; while (Math.Abs(v) < 1e-3);
            values[i] = BFloat16.FromFloat((float)v);
        }
        return values;
    }
}

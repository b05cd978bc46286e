using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels.Tests;

/// <summary>
/// The FlashAttention kernels on a real CUDA device at TinyLlama's sequence length (T = 2048, Hs = 64, 8 query heads on
/// one kv head: TinyLlama's GQA ratio), against the CPU attention in f32 (<see cref="Attention.Forward{T}"/>, itself
/// tested against the double reference); the double reference would take minutes at this size. Skipped where there is
/// no CUDA device (every machine without a GPU, including CI). Not yet run: written before a GPU was at hand.
/// </summary>
public sealed class FlashAttentionCudaTests : IDisposable
{
    const int B = 1, H = 8, KvH = 1, T = 2048, Hs = 64;
    readonly Context context;
    readonly Accelerator? accelerator;

    public FlashAttentionCudaTests()
    {
        context = Context.Create(builder => GpuContextSettings.Apply(builder.Cuda()));
        accelerator = context.GetCudaDevices().Count > 0 ? context.CreateCudaAccelerator(0) : null;
    }

    public void Dispose()
    {
        accelerator?.Dispose();
        context.Dispose();
    }

    [SkippableTheory]
    [InlineData(false, false)] // f32 storage, SIMT kernels
    [InlineData(true, false)]  // bf16 storage, SIMT kernels
    [InlineData(true, true)]   // bf16 storage, tensor-core forward
    public void MatchesTheCpuAttentionAtT2048(bool bf16, bool tensorCores)
    {
        Skip.If(accelerator is null, "no CUDA device");
        int qn = B * H * T * Hs, kvn = B * KvH * T * Hs;
        float[] Input(int n, int seed, double scale)
        {
            var a = RandomData.Array<float>(n, seed, scale);
            if (bf16) for (int i = 0; i < a.Length; i++) a[i] = BFloat16.ToFloat(BFloat16.FromFloat(a[i]));
            return a;
        }
        float[] q = Input(qn, 301, 2), k = Input(kvn, 302, 2), v = Input(kvn, 303, 1), dOut = Input(qn, 304, 1);
        float scale = 1f / MathF.Sqrt(Hs);
        var (output, probs) = (new float[qn], new float[B * H * T * T]);
        Attention.Forward<float>(q, k, v, output, probs, B, H, KvH, T, Hs, scale);
        var (dq, dk, dv) = (new float[qn], new float[kvn], new float[kvn]);
        Attention.Backward<float>(q, k, v, probs, dOut, dq, dk, dv, B, H, KvH, T, Hs, scale);

        var flash = new FlashAttentionGpu(accelerator!) { TensorCores = tensorCores };
        var stream = accelerator!.DefaultStream;
        using var lse = accelerator.Allocate1D<float>(B * H * T);
        using var workspace = accelerator.Allocate1D<float>(FlashAttentionGpu.BackwardWorkspaceLength(B, H, T, Hs));
        workspace.MemSetToZero(); // the backward must not rely on it: its prepare kernel zeroes what it accumulates into
        float[] gotOut, gotDq, gotDk, gotDv;
        if (bf16)
        {
            using var dq16 = Upload(Poison16(qn));
            using var dk16 = Upload(Poison16(kvn));
            using var dv16 = Upload(Poison16(kvn));
            using var out16 = Upload(Poison16(qn));
            using var q16 = Upload(ToBf16(q));
            using var k16 = Upload(ToBf16(k));
            using var v16 = Upload(ToBf16(v));
            using var do16 = Upload(ToBf16(dOut));
            flash.Forward(stream, q16.View, k16.View, v16.View, out16.View, lse.View, B, H, KvH, T, Hs, scale);
            flash.Backward(stream, q16.View, k16.View, v16.View, out16.View, lse.View, do16.View, dq16.View, dk16.View, dv16.View,
                workspace.View, B, H, KvH, T, Hs, scale);
            stream.Synchronize();
            (gotOut, gotDq, gotDk, gotDv) = (FromBf16(out16), FromBf16(dq16), FromBf16(dk16), FromBf16(dv16));
        }
        else
        {
            using var q32 = Upload(q);
            using var k32 = Upload(k);
            using var v32 = Upload(v);
            using var do32 = Upload(dOut);
            using var out32 = Upload(Poison32(qn));
            using var dq32 = Upload(Poison32(qn));
            using var dk32 = Upload(Poison32(kvn));
            using var dv32 = Upload(Poison32(kvn));
            flash.Forward(stream, q32.View, k32.View, v32.View, out32.View, lse.View, B, H, KvH, T, Hs, scale);
            flash.Backward(stream, q32.View, k32.View, v32.View, out32.View, lse.View, do32.View, dq32.View, dk32.View, dv32.View,
                workspace.View, B, H, KvH, T, Hs, scale);
            stream.Synchronize();
            (gotOut, gotDq, gotDk, gotDv) = (out32.GetAsArray1D(), dq32.GetAsArray1D(), dk32.GetAsArray1D(), dv32.GetAsArray1D());
        }

        // f32: the reductions' tolerance. bf16: the storage's; dq and dk also carry D = dO·O from the bf16 output
        // (see FlashAttentionGpuTests), hence the looser bound there.
        double tolerance = bf16 ? 1e-2 : 1e-4, gradTolerance = bf16 ? 5e-2 : 1e-4;
        AssertClose.All<float>(output, gotOut, tolerance, "flash output at T=2048");
        AssertClose.All<float>(dv, gotDv, tolerance, "flash dv at T=2048");
        AssertClose.All<float>(dq, gotDq, gradTolerance, "flash dq at T=2048");
        AssertClose.All<float>(dk, gotDk, gradTolerance, "flash dk at T=2048");
        float[] gotLse = lse.GetAsArray1D();
        for (int row = 0; row < B * H * T; row++)
            Assert.True(float.IsFinite(gotLse[row]), $"lse[{row}] = {gotLse[row]}");
    }

    MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(T[] values) where T : unmanaged
    {
        var buffer = accelerator!.Allocate1D<T>(values.Length);
        buffer.CopyFromCPU(values);
        return buffer;
    }

    static float[] Poison32(int n) => Enumerable.Repeat(float.NaN, n).ToArray();
    static ushort[] Poison16(int n) => Enumerable.Repeat((ushort)0xFFFF, n).ToArray();
    static ushort[] ToBf16(float[] a) => Array.ConvertAll(a, BFloat16.FromFloat);
    static float[] FromBf16(MemoryBuffer1D<ushort, Stride1D.Dense> buffer) => Array.ConvertAll(buffer.GetAsArray1D(), BFloat16.ToFloat);
}

using ILGPU;

namespace TinyLlama.Kernels;

/// <summary>
/// One-warp kernels that pin the fragment layouts down on their own, away from the GEMM's tiling: the tests compare
/// what they write with the layouts of <see cref="MmaPtx"/> written out on the host. On the CPU accelerator they check
/// the emulation; on a GPU the same tests check the hardware against the same expectations.
/// </summary>
public static class MmaProbeKernels
{
    /// <summary>
    /// D = A·B + C for one 16×8×16 tile, launched with one warp. a: (16, 16) bf16 row-major; b: (16, 8) bf16 row-major
    /// (k, n); c and d: (16, 8) f32 row-major. Each lane gathers its fragments straight from global memory by the PTX
    /// ISA's layout and scatters its four results the same way. Launch it with 4·<see cref="MmaPtx.ScratchWordsPerWarp"/>
    /// bytes of dynamic shared memory (in <see cref="GemmKernels.Chunk16"/> units), which only the emulation uses.
    /// </summary>
    [GpuKernel]
    public static void MmaTile(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<float> c, ArrayView<float> d)
    {
        ArrayView<uint> words = SharedMemory.GetDynamic<GemmKernels.Chunk16>().Cast<uint>();
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        var fa = new Frag4
        {
            R0 = MmaPtx.Pack(a[g * 16 + 2 * t], a[g * 16 + 2 * t + 1]),
            R1 = MmaPtx.Pack(a[(g + 8) * 16 + 2 * t], a[(g + 8) * 16 + 2 * t + 1]),
            R2 = MmaPtx.Pack(a[g * 16 + 2 * t + 8], a[g * 16 + 2 * t + 9]),
            R3 = MmaPtx.Pack(a[(g + 8) * 16 + 2 * t + 8], a[(g + 8) * 16 + 2 * t + 9]),
        };
        uint b0 = MmaPtx.Pack(b[2 * t * 8 + g], b[(2 * t + 1) * 8 + g]);
        uint b1 = MmaPtx.Pack(b[(2 * t + 8) * 8 + g], b[(2 * t + 9) * 8 + g]);
        var acc = new Acc4
        {
            C0 = c[g * 8 + 2 * t], C1 = c[g * 8 + 2 * t + 1], C2 = c[(g + 8) * 8 + 2 * t], C3 = c[(g + 8) * 8 + 2 * t + 1],
        };
        MmaPtx.MmaBf16(ref acc, fa, b0, b1, words, 0);
        d[g * 8 + 2 * t] = acc.C0;
        d[g * 8 + 2 * t + 1] = acc.C1;
        d[(g + 8) * 8 + 2 * t] = acc.C2;
        d[(g + 8) * 8 + 2 * t + 1] = acc.C3;
    }

    /// <summary>
    /// Loads a 16×16 b16 matrix (row-major, 32-byte rows) into shared memory and reads it back with ldmatrix.x4 and
    /// ldmatrix.x4.trans, launched with one warp and 512 + 4·<see cref="MmaPtx.ScratchWordsPerWarp"/> bytes of dynamic
    /// shared memory in <see cref="GemmKernels.Chunk16"/> units (the second part is the emulation's). Matrix j is the 8×8 block
    /// at rows 8(j%2), columns 8(j/2) (the order an A fragment wants), so lane 8j+i points at row 8(j%2)+i,
    /// column 8(j/2). output: (32 lanes, 8) uint, registers R0..R3 of the plain load, then of the transposed one.
    /// </summary>
    [GpuKernel]
    public static void Ldmatrix(ArrayView<ushort> matrix, ArrayView<uint> output)
    {
        ArrayView<GemmKernels.Chunk16> chunks = SharedMemory.GetDynamic<GemmKernels.Chunk16>(); // .align 16 for ldmatrix
        ArrayView<ushort> shared = chunks.Cast<ushort>();
        ArrayView<uint> words = chunks.Cast<uint>();
        uint sharedBase = MmaPtx.SharedBase();
        int lane = Warp.LaneIdx;
        for (int i = lane; i < 256; i += 32) shared[i] = matrix[i];
        Group.Barrier();
        int j = lane >> 3, row = 8 * (j & 1) + (lane & 7), column = 8 * (j >> 1);
        int offset = (row * 16 + column) * 2;
        Frag4 plain = MmaPtx.LdmatrixX4(shared, sharedBase, offset, words, 128);
        Frag4 transposed = MmaPtx.LdmatrixX4Trans(shared, sharedBase, offset, words, 128);
        output[lane * 8 + 0] = plain.R0;
        output[lane * 8 + 1] = plain.R1;
        output[lane * 8 + 2] = plain.R2;
        output[lane * 8 + 3] = plain.R3;
        output[lane * 8 + 4] = transposed.R0;
        output[lane * 8 + 5] = transposed.R1;
        output[lane * 8 + 6] = transposed.R2;
        output[lane * 8 + 7] = transposed.R3;
    }
}

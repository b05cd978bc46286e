using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels;

/// <summary>
/// Four 32-bit registers of one lane: the A fragment of an m16n8k16 MMA (four bf16 pairs), or the B fragments of two
/// neighbouring n8 tiles (R0, R1 for the first, R2, R3 for the second), as <c>ldmatrix.x4</c> delivers them.
/// In every register the element with the smaller index sits in the low 16 bits.
/// </summary>
public struct Frag4
{
    public uint R0, R1, R2, R3;
}

/// <summary>
/// One lane's share of a 16×8 f32 accumulator tile. With g = lane / 4 and t = lane % 4:
/// C0 = D[g, 2t], C1 = D[g, 2t+1], C2 = D[g+8, 2t], C3 = D[g+8, 2t+1].
/// </summary>
public struct Acc4
{
    public float C0, C1, C2, C3;
}

/// <summary>
/// The tensor-core instructions the GEMM uses, each as inline PTX behind <see cref="CudaAsm.IsSupported"/> with a
/// managed emulation of the same register-level semantics in the other branch. The emulation runs on ILGPU's CPU
/// accelerator (warp 32), so every line around the instructions (fragment bookkeeping, shared-memory addresses,
/// swizzle, pipeline, edges) is tested without a GPU; what the emulation cannot prove is that the hardware agrees
/// with the PTX ISA's description, which is what it follows.
///
/// Fragment layouts of <c>mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32</c> (PTX ISA, "Matrix Fragments for
/// mma.m16n8k16 with floating point type"), with g = lane / 4 (groupID) and t = lane % 4 (threadID_in_group):
/// <code>
///   A (16×16, row-major)  R0 = A[g,   2t..2t+1]   R1 = A[g+8, 2t..2t+1]
///                         R2 = A[g, 2t+8..2t+9]   R3 = A[g+8, 2t+8..2t+9]
///   B (16×8, "col")       b0 = B[2t..2t+1,   g]   b1 = B[2t+8..2t+9, g]
///   C, D (16×8, f32)      C0 = D[g, 2t]  C1 = D[g, 2t+1]  C2 = D[g+8, 2t]  C3 = D[g+8, 2t+1]
/// </code>
/// </summary>
public static class MmaPtx
{
    const string MmaBf16Asm =
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};";
    const string LdmatrixX4Asm = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];";
    const string LdmatrixX4TransAsm = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];";
    // cp-size 16 with a run-time src-size: the bytes past src-size are filled with zeros (src-size 0 reads nothing).
    const string CopyAsync16Asm = "cp.async.cg.shared.global [%0], [%1], 16, %2;";

    /// <summary>
    /// 32-bit words of shared memory per warp that the emulation uses to pass registers between lanes (8 per lane).
    /// ILGPU's CPU <c>Warp.Shuffle</c> costs about four barriers of the warp's 32 OS threads per call, and an emulated
    /// MMA needs 32 of them; exchanging through shared memory, as the CPU shuffle itself does through its own buffer,
    /// costs two warp barriers per instruction. On the GPU the scratch is neither requested nor touched.
    /// </summary>
    public const int ScratchWordsPerWarp = 32 * 8;

    /// <summary>
    /// D = A·B + D for one m16n8k16 tile: <c>mma.sync</c> on the GPU, the emulation elsewhere, which passes registers
    /// through this warp's <see cref="ScratchWordsPerWarp"/> words of <paramref name="words"/> from <paramref name="scratch"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MmaBf16(ref Acc4 d, Frag4 a, uint b0, uint b1, ArrayView<uint> words, int scratch)
    {
        if (CudaAsm.IsSupported)
        {
            Ref<float> d0 = d.C0, d1 = d.C1, d2 = d.C2, d3 = d.C3;
            Input<uint> a0 = a.R0, a1 = a.R1, a2 = a.R2, a3 = a.R3, bb0 = b0, bb1 = b1;
            CudaAsm.EmitRef(MmaBf16Asm, ref d0, ref d1, ref d2, ref d3, ref a0, ref a1, ref a2, ref a3, ref bb0, ref bb1);
            d.C0 = d0.Value;
            d.C1 = d1.Value;
            d.C2 = d2.Value;
            d.C3 = d3.Value;
        }
        else
        {
            MmaBf16Emulated(ref d, a, b0, b1, words, scratch);
        }
    }

    /// <summary>
    /// The MMA as each lane sees it: lane (g, t) owns D[g, 2t], D[g, 2t+1], D[g+8, 2t], D[g+8, 2t+1], so it needs rows
    /// g and g+8 of A, held by lanes 4g..4g+3, and columns 2t and 2t+1 of B, held by lanes 8t..8t+3 and 8t+4..8t+7.
    /// Source lane 4g+q (resp. 8t+q, 8t+4+q) holds k = 2q, 2q+1 in its R0/R1 (b0) and k = 2q+8, 2q+9 in R2/R3 (b1).
    /// Every lane publishes its six registers, the warp meets, every lane reads the 32 registers it needs, the warp
    /// meets again (so the scratch may be reused). f32 products of bf16 are exact; the hardware's summation order is
    /// unspecified, this one adds in k order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void MmaBf16Emulated(ref Acc4 d, Frag4 a, uint b0, uint b1, ArrayView<uint> words, int scratch)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        int own = scratch + 8 * lane;
        words[own] = a.R0;
        words[own + 1] = a.R1;
        words[own + 2] = a.R2;
        words[own + 3] = a.R3;
        words[own + 4] = b0;
        words[own + 5] = b1;
        Warp.Barrier();
        float c0 = d.C0, c1 = d.C1, c2 = d.C2, c3 = d.C3;
        for (int q = 0; q < 4; q++)
        {
            int aLane = scratch + 8 * (4 * g + q), bLane0 = scratch + 8 * (8 * t + q), bLane1 = scratch + 8 * (8 * t + 4 + q);
            uint rowG = words[aLane], rowG8 = words[aLane + 1], rowGHigh = words[aLane + 2], rowG8High = words[aLane + 3];
            uint col0 = words[bLane0 + 4], col0High = words[bLane0 + 5];
            uint col1 = words[bLane1 + 4], col1High = words[bLane1 + 5];
            c0 += Dot2(rowG, col0) + Dot2(rowGHigh, col0High);
            c1 += Dot2(rowG, col1) + Dot2(rowGHigh, col1High);
            c2 += Dot2(rowG8, col0) + Dot2(rowG8High, col0High);
            c3 += Dot2(rowG8, col1) + Dot2(rowG8High, col1High);
        }
        Warp.Barrier();
        d.C0 = c0;
        d.C1 = c1;
        d.C2 = c2;
        d.C3 = c3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot2(uint x, uint y) => Low(x) * Low(y) + High(x) * High(y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Low(uint pair) => Interop.IntAsFloat(pair << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float High(uint pair) => Interop.IntAsFloat(pair & 0xFFFF_0000u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pack(ushort low, ushort high) => low | ((uint)high << 16);

    /// <summary>
    /// <c>ldmatrix.x4</c>: four 8×8 b16 matrices from shared memory. Lane 8j+i gives, as <paramref name="rowByteOffset"/>
    /// (bytes from the start of dynamic shared memory), the address of row i of matrix j (16 contiguous bytes). Lane l
    /// receives in register j the elements (l/4, 2(l%4)) and (l/4, 2(l%4)+1) of matrix j. The emulation passes the
    /// row addresses between lanes through the scratch, as <see cref="MmaBf16"/> does registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Frag4 LdmatrixX4(ArrayView<ushort> shared, uint sharedBase, int rowByteOffset, ArrayView<uint> words, int scratch)
    {
        var f = new Frag4();
        if (CudaAsm.IsSupported)
        {
            Output<uint> r0 = default, r1 = default, r2 = default, r3 = default;
            Input<uint> address = sharedBase + (uint)rowByteOffset;
            CudaAsm.EmitRef(LdmatrixX4Asm, ref r0, ref r1, ref r2, ref r3, ref address);
            f.R0 = r0.Value;
            f.R1 = r1.Value;
            f.R2 = r2.Value;
            f.R3 = r3.Value;
        }
        else
        {
            PublishAddress(words, scratch, rowByteOffset);
            f.R0 = LdmatrixRowEmulated(shared, words, scratch, 0);
            f.R1 = LdmatrixRowEmulated(shared, words, scratch, 1);
            f.R2 = LdmatrixRowEmulated(shared, words, scratch, 2);
            f.R3 = LdmatrixRowEmulated(shared, words, scratch, 3);
            Warp.Barrier();
        }
        return f;
    }

    /// <summary>
    /// <c>ldmatrix.x4.trans</c>: as <see cref="LdmatrixX4"/> with each matrix transposed on the way: lane l receives in
    /// register j the elements (2(l%4), l/4) and (2(l%4)+1, l/4) of matrix j as stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Frag4 LdmatrixX4Trans(ArrayView<ushort> shared, uint sharedBase, int rowByteOffset, ArrayView<uint> words, int scratch)
    {
        var f = new Frag4();
        if (CudaAsm.IsSupported)
        {
            Output<uint> r0 = default, r1 = default, r2 = default, r3 = default;
            Input<uint> address = sharedBase + (uint)rowByteOffset;
            CudaAsm.EmitRef(LdmatrixX4TransAsm, ref r0, ref r1, ref r2, ref r3, ref address);
            f.R0 = r0.Value;
            f.R1 = r1.Value;
            f.R2 = r2.Value;
            f.R3 = r3.Value;
        }
        else
        {
            PublishAddress(words, scratch, rowByteOffset);
            f.R0 = LdmatrixTransRowEmulated(shared, words, scratch, 0);
            f.R1 = LdmatrixTransRowEmulated(shared, words, scratch, 1);
            f.R2 = LdmatrixTransRowEmulated(shared, words, scratch, 2);
            f.R3 = LdmatrixTransRowEmulated(shared, words, scratch, 3);
            Warp.Barrier();
        }
        return f;
    }

    /// <summary>Every lane writes its row address to the warp's scratch (slot 6 of its 8 words), then the warp meets.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PublishAddress(ArrayView<uint> words, int scratch, int rowByteOffset)
    {
        words[scratch + 8 * Warp.LaneIdx + 6] = (uint)rowByteOffset;
        Warp.Barrier();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int AddressOf(ArrayView<uint> words, int scratch, int lane) => (int)words[scratch + 8 * lane + 6];

    /// <summary>Register j of a non-transposed ldmatrix: row l/4 of matrix j, whose address lane 8j + l/4 holds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint LdmatrixRowEmulated(ArrayView<ushort> shared, ArrayView<uint> words, int scratch, int matrix)
    {
        int lane = Warp.LaneIdx;
        int row = AddressOf(words, scratch, 8 * matrix + (lane >> 2)) >> 1;
        int column = 2 * (lane & 3);
        return Pack(shared[row + column], shared[row + column + 1]);
    }

    /// <summary>Register j of a transposed ldmatrix: column l/4 of rows 2(l%4) and 2(l%4)+1 of matrix j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint LdmatrixTransRowEmulated(ArrayView<ushort> shared, ArrayView<uint> words, int scratch, int matrix)
    {
        int lane = Warp.LaneIdx;
        int row0 = AddressOf(words, scratch, 8 * matrix + 2 * (lane & 3)) >> 1;
        int row1 = AddressOf(words, scratch, 8 * matrix + 2 * (lane & 3) + 1) >> 1;
        int column = lane >> 2;
        return Pack(shared[row0 + column], shared[row1 + column]);
    }

    /// <summary>
    /// <c>cp.async.cg</c> of 16 bytes (8 bf16) from global to shared memory: the first <paramref name="validElements"/>
    /// (0..8) come from <paramref name="source"/>[<paramref name="elementIndex"/>...], the rest are zeros. On the GPU the
    /// source address is <paramref name="sourceAddress"/> + 2·elementIndex and must be 16-byte aligned; with nothing
    /// valid it points at the operand's start, a readable address from which zero bytes are read. The emulation is a
    /// plain copy, complete on return, which is one of the orders the real pipeline allows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyAsync16(ArrayView<ushort> shared, uint sharedBase, int sharedByteOffset,
        ArrayView<ushort> source, long sourceAddress, long elementIndex, int validElements)
    {
        if (CudaAsm.IsSupported)
        {
            long address = validElements > 0 ? sourceAddress + 2 * elementIndex : sourceAddress;
            CudaAsm.Emit(CopyAsync16Asm, sharedBase + (uint)sharedByteOffset, address, 2 * validElements);
        }
        else
        {
            CopyGuarded16(shared, sharedByteOffset, source, elementIndex, validElements);
        }
    }

    /// <summary>
    /// The same 16 bytes with ordinary loads and stores: the emulation of <see cref="CopyAsync16"/>, and the GEMM's
    /// path for operands that are not 16-byte aligned (any leading dimension, any offset).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyGuarded16(ArrayView<ushort> shared, int sharedByteOffset,
        ArrayView<ushort> source, long elementIndex, int validElements)
    {
        int destination = sharedByteOffset >> 1;
        for (int e = 0; e < 8; e++)
            shared[destination + e] = e < validElements ? source[elementIndex + e] : (ushort)0;
    }

    /// <summary>Closes the group of cp.async issued since the last commit (no-op in the emulation: copies are done).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CommitGroup()
    {
        if (CudaAsm.IsSupported) CudaAsm.Emit("cp.async.commit_group;");
    }

    /// <summary>
    /// Waits until at most <paramref name="pending"/> (clamped to 0..2; PTX wants an immediate) committed groups of
    /// this thread are in flight. Other threads' copies become visible only after the <c>Group.Barrier()</c> that
    /// must follow, exactly as in the emulation.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WaitGroup(int pending)
    {
        if (CudaAsm.IsSupported)
        {
            if (pending <= 0) CudaAsm.Emit("cp.async.wait_group 0;");
            else if (pending == 1) CudaAsm.Emit("cp.async.wait_group 1;");
            else CudaAsm.Emit("cp.async.wait_group 2;");
        }
    }

    /// <summary>
    /// The shared-window address of ILGPU's dynamic shared memory (<c>__dyn_shared_alloca</c>, declared only when the
    /// kernel also uses <see cref="SharedMemory.GetDynamic{T}"/> in C#); 0 in the emulation, where offsets are used.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint SharedBase()
    {
        uint sharedBase = 0;
        if (CudaAsm.IsSupported) CudaAsm.Emit("mov.u32 %0, __dyn_shared_alloca;", out sharedBase);
        return sharedBase;
    }
}

using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels;

/// <summary>
/// The bf16 tensor-core instruction mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (D = A·B + C, A 16×16 row-major,
/// B 16×8 column-major, f32 accumulators) as inline PTX on the GPU, and, on any other accelerator, a managed emulation
/// with warp shuffles that reproduces its fragment layout exactly, so the kernels that use it run unchanged on ILGPU's
/// CPU accelerator. Fragment layout (PTX ISA, "Matrix Fragments for mma.m16n8k16"), with g = lane / 4, t = lane % 4,
/// each .b32 register holding two bf16, the lower column (A) or lower k (B) in the low half:
///   A: a0 = A[g][2t, 2t+1], a1 = A[g+8][2t, 2t+1], a2 = A[g][2t+8, 2t+9], a3 = A[g+8][2t+8, 2t+9]
///   B: b0 = B[2t, 2t+1][g], b1 = B[2t+8, 2t+9][g]
///   C, D: c0, c1 = C[g][2t, 2t+1], c2, c3 = C[g+8][2t, 2t+1]
/// Every lane of the warp must call it together (it is a warp-wide instruction; the emulation shuffles).
/// </summary>
internal static class FlashTensorCore
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MmaBf16(ref float d0, ref float d1, ref float d2, ref float d3, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        if (CudaAsm.IsSupported)
        {
            Ref<float> r0 = d0, r1 = d1, r2 = d2, r3 = d3;
            Input<uint> x0 = a0, x1 = a1, x2 = a2, x3 = a3, y0 = b0, y1 = b1;
            CudaAsm.EmitRef(
                "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
                ref r0, ref r1, ref r2, ref r3, ref x0, ref x1, ref x2, ref x3, ref y0, ref y1);
            d0 = r0.Value;
            d1 = r1.Value;
            d2 = r2.Value;
            d3 = r3.Value;
        }
        else
        {
            Emulate(ref d0, ref d1, ref d2, ref d3, a0, a1, a2, a3, b0, b1);
        }
    }

    /// <summary>
    /// Lane (g, t) needs rows g and g+8 of A, held by lanes 4g … 4g+3, and columns 2t and 2t+1 of B, held by lanes
    /// 8t … 8t+3 and 8t+4 … 8t+7; it fetches them from each source lane t' in turn and multiplies in f32. A lane's
    /// four A registers travel as one struct and its two B registers as another: three shuffles per source lane
    /// (each a warp-wide exchange on the CPU accelerator, where they dominate the run time).
    /// </summary>
    static void Emulate(ref float d0, ref float d1, ref float d2, ref float d3, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        var a = new FragmentA(a0, a1, a2, a3);
        var b = new FragmentB(b0, b1);
        for (int source = 0; source < 4; source++)
        {
            FragmentA row = Warp.Shuffle(a, 4 * g + source);      // A[g][2t'..], A[g+8][2t'..], A[g][2t'+8..], A[g+8][2t'+8..]
            FragmentB col0 = Warp.Shuffle(b, 8 * t + source);     // B[2t'.., 2t'+8..][2t]
            FragmentB col1 = Warp.Shuffle(b, 8 * t + 4 + source); // B[2t'.., 2t'+8..][2t+1]
            d0 += Dot2(row.R0, col0.R0) + Dot2(row.R2, col0.R1);
            d1 += Dot2(row.R0, col1.R0) + Dot2(row.R2, col1.R1);
            d2 += Dot2(row.R1, col0.R0) + Dot2(row.R3, col0.R1);
            d3 += Dot2(row.R1, col1.R0) + Dot2(row.R3, col1.R1);
        }
    }

    readonly struct FragmentA(uint r0, uint r1, uint r2, uint r3)
    {
        public readonly uint R0 = r0, R1 = r1, R2 = r2, R3 = r3;
    }

    readonly struct FragmentB(uint r0, uint r1)
    {
        public readonly uint R0 = r0, R1 = r1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot2(uint x, uint y) => Lo(x) * Lo(y) + Hi(x) * Hi(y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Lo(uint pair) => Interop.IntAsFloat(pair << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Hi(uint pair) => Interop.IntAsFloat(pair & 0xFFFF0000u);

    /// <summary>Two f32 rounded to bf16 (nearest even) and packed, <paramref name="low"/> in the low half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pack(float low, float high) =>
        default(Bf16Element).Narrow(low) | ((uint)default(Bf16Element).Narrow(high) << 16);
}

/// <summary>A warp's 16×64 f32 accumulator as eight m16n8 C fragments: N{n}{c} is register c of the n-th 8-column tile.</summary>
internal struct FlashWarpTile16x64
{
    public float N00, N01, N02, N03, N10, N11, N12, N13, N20, N21, N22, N23, N30, N31, N32, N33, N40, N41, N42, N43, N50, N51, N52, N53, N60, N61, N62, N63, N70, N71, N72, N73;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Clear()
    {
        N00 = 0f; N01 = 0f; N02 = 0f; N03 = 0f;
        N10 = 0f; N11 = 0f; N12 = 0f; N13 = 0f;
        N20 = 0f; N21 = 0f; N22 = 0f; N23 = 0f;
        N30 = 0f; N31 = 0f; N32 = 0f; N33 = 0f;
        N40 = 0f; N41 = 0f; N42 = 0f; N43 = 0f;
        N50 = 0f; N51 = 0f; N52 = 0f; N53 = 0f;
        N60 = 0f; N61 = 0f; N62 = 0f; N63 = 0f;
        N70 = 0f; N71 = 0f; N72 = 0f; N73 = 0f;
    }

    /// <summary>this += A·Bᵀ-tile where A is the warp's 16×64 bf16 fragment set and B's rows are 64 rows of a (64 × 36-word) bf16-pair tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MmaRows(in FlashQFragments16x64 a, ArrayView<uint> tile, int g, int t)
    {
        const int Stride = FlashMma.TileStride;
        FlashTensorCore.MmaBf16(ref N00, ref N01, ref N02, ref N03, a.K00, a.K01, a.K02, a.K03,
            tile[(0 + g) * Stride + 0 + t], tile[(0 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N00, ref N01, ref N02, ref N03, a.K10, a.K11, a.K12, a.K13,
            tile[(0 + g) * Stride + 8 + t], tile[(0 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N00, ref N01, ref N02, ref N03, a.K20, a.K21, a.K22, a.K23,
            tile[(0 + g) * Stride + 16 + t], tile[(0 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N00, ref N01, ref N02, ref N03, a.K30, a.K31, a.K32, a.K33,
            tile[(0 + g) * Stride + 24 + t], tile[(0 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N10, ref N11, ref N12, ref N13, a.K00, a.K01, a.K02, a.K03,
            tile[(8 + g) * Stride + 0 + t], tile[(8 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N10, ref N11, ref N12, ref N13, a.K10, a.K11, a.K12, a.K13,
            tile[(8 + g) * Stride + 8 + t], tile[(8 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N10, ref N11, ref N12, ref N13, a.K20, a.K21, a.K22, a.K23,
            tile[(8 + g) * Stride + 16 + t], tile[(8 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N10, ref N11, ref N12, ref N13, a.K30, a.K31, a.K32, a.K33,
            tile[(8 + g) * Stride + 24 + t], tile[(8 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N20, ref N21, ref N22, ref N23, a.K00, a.K01, a.K02, a.K03,
            tile[(16 + g) * Stride + 0 + t], tile[(16 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N20, ref N21, ref N22, ref N23, a.K10, a.K11, a.K12, a.K13,
            tile[(16 + g) * Stride + 8 + t], tile[(16 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N20, ref N21, ref N22, ref N23, a.K20, a.K21, a.K22, a.K23,
            tile[(16 + g) * Stride + 16 + t], tile[(16 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N20, ref N21, ref N22, ref N23, a.K30, a.K31, a.K32, a.K33,
            tile[(16 + g) * Stride + 24 + t], tile[(16 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N30, ref N31, ref N32, ref N33, a.K00, a.K01, a.K02, a.K03,
            tile[(24 + g) * Stride + 0 + t], tile[(24 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N30, ref N31, ref N32, ref N33, a.K10, a.K11, a.K12, a.K13,
            tile[(24 + g) * Stride + 8 + t], tile[(24 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N30, ref N31, ref N32, ref N33, a.K20, a.K21, a.K22, a.K23,
            tile[(24 + g) * Stride + 16 + t], tile[(24 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N30, ref N31, ref N32, ref N33, a.K30, a.K31, a.K32, a.K33,
            tile[(24 + g) * Stride + 24 + t], tile[(24 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N40, ref N41, ref N42, ref N43, a.K00, a.K01, a.K02, a.K03,
            tile[(32 + g) * Stride + 0 + t], tile[(32 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N40, ref N41, ref N42, ref N43, a.K10, a.K11, a.K12, a.K13,
            tile[(32 + g) * Stride + 8 + t], tile[(32 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N40, ref N41, ref N42, ref N43, a.K20, a.K21, a.K22, a.K23,
            tile[(32 + g) * Stride + 16 + t], tile[(32 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N40, ref N41, ref N42, ref N43, a.K30, a.K31, a.K32, a.K33,
            tile[(32 + g) * Stride + 24 + t], tile[(32 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N50, ref N51, ref N52, ref N53, a.K00, a.K01, a.K02, a.K03,
            tile[(40 + g) * Stride + 0 + t], tile[(40 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N50, ref N51, ref N52, ref N53, a.K10, a.K11, a.K12, a.K13,
            tile[(40 + g) * Stride + 8 + t], tile[(40 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N50, ref N51, ref N52, ref N53, a.K20, a.K21, a.K22, a.K23,
            tile[(40 + g) * Stride + 16 + t], tile[(40 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N50, ref N51, ref N52, ref N53, a.K30, a.K31, a.K32, a.K33,
            tile[(40 + g) * Stride + 24 + t], tile[(40 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N60, ref N61, ref N62, ref N63, a.K00, a.K01, a.K02, a.K03,
            tile[(48 + g) * Stride + 0 + t], tile[(48 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N60, ref N61, ref N62, ref N63, a.K10, a.K11, a.K12, a.K13,
            tile[(48 + g) * Stride + 8 + t], tile[(48 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N60, ref N61, ref N62, ref N63, a.K20, a.K21, a.K22, a.K23,
            tile[(48 + g) * Stride + 16 + t], tile[(48 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N60, ref N61, ref N62, ref N63, a.K30, a.K31, a.K32, a.K33,
            tile[(48 + g) * Stride + 24 + t], tile[(48 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N70, ref N71, ref N72, ref N73, a.K00, a.K01, a.K02, a.K03,
            tile[(56 + g) * Stride + 0 + t], tile[(56 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N70, ref N71, ref N72, ref N73, a.K10, a.K11, a.K12, a.K13,
            tile[(56 + g) * Stride + 8 + t], tile[(56 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N70, ref N71, ref N72, ref N73, a.K20, a.K21, a.K22, a.K23,
            tile[(56 + g) * Stride + 16 + t], tile[(56 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N70, ref N71, ref N72, ref N73, a.K30, a.K31, a.K32, a.K33,
            tile[(56 + g) * Stride + 24 + t], tile[(56 + g) * Stride + 28 + t]);
    }

    /// <summary>this += P·V where P (16×64) is <paramref name="p"/> packed to bf16 A fragments and V is given transposed (Vᵀ rows = head columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MmaProbs(in FlashWarpTile16x64 p, ArrayView<uint> transposed, int g, int t)
    {
        const int Stride = FlashMma.TileStride;
        uint p00 = FlashTensorCore.Pack(p.N00, p.N01), p01 = FlashTensorCore.Pack(p.N02, p.N03);
        uint p02 = FlashTensorCore.Pack(p.N10, p.N11), p03 = FlashTensorCore.Pack(p.N12, p.N13);
        uint p10 = FlashTensorCore.Pack(p.N20, p.N21), p11 = FlashTensorCore.Pack(p.N22, p.N23);
        uint p12 = FlashTensorCore.Pack(p.N30, p.N31), p13 = FlashTensorCore.Pack(p.N32, p.N33);
        uint p20 = FlashTensorCore.Pack(p.N40, p.N41), p21 = FlashTensorCore.Pack(p.N42, p.N43);
        uint p22 = FlashTensorCore.Pack(p.N50, p.N51), p23 = FlashTensorCore.Pack(p.N52, p.N53);
        uint p30 = FlashTensorCore.Pack(p.N60, p.N61), p31 = FlashTensorCore.Pack(p.N62, p.N63);
        uint p32 = FlashTensorCore.Pack(p.N70, p.N71), p33 = FlashTensorCore.Pack(p.N72, p.N73);
        FlashTensorCore.MmaBf16(ref N00, ref N01, ref N02, ref N03, p00, p01, p02, p03,
            transposed[(0 + g) * Stride + 0 + t], transposed[(0 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N00, ref N01, ref N02, ref N03, p10, p11, p12, p13,
            transposed[(0 + g) * Stride + 8 + t], transposed[(0 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N00, ref N01, ref N02, ref N03, p20, p21, p22, p23,
            transposed[(0 + g) * Stride + 16 + t], transposed[(0 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N00, ref N01, ref N02, ref N03, p30, p31, p32, p33,
            transposed[(0 + g) * Stride + 24 + t], transposed[(0 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N10, ref N11, ref N12, ref N13, p00, p01, p02, p03,
            transposed[(8 + g) * Stride + 0 + t], transposed[(8 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N10, ref N11, ref N12, ref N13, p10, p11, p12, p13,
            transposed[(8 + g) * Stride + 8 + t], transposed[(8 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N10, ref N11, ref N12, ref N13, p20, p21, p22, p23,
            transposed[(8 + g) * Stride + 16 + t], transposed[(8 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N10, ref N11, ref N12, ref N13, p30, p31, p32, p33,
            transposed[(8 + g) * Stride + 24 + t], transposed[(8 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N20, ref N21, ref N22, ref N23, p00, p01, p02, p03,
            transposed[(16 + g) * Stride + 0 + t], transposed[(16 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N20, ref N21, ref N22, ref N23, p10, p11, p12, p13,
            transposed[(16 + g) * Stride + 8 + t], transposed[(16 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N20, ref N21, ref N22, ref N23, p20, p21, p22, p23,
            transposed[(16 + g) * Stride + 16 + t], transposed[(16 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N20, ref N21, ref N22, ref N23, p30, p31, p32, p33,
            transposed[(16 + g) * Stride + 24 + t], transposed[(16 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N30, ref N31, ref N32, ref N33, p00, p01, p02, p03,
            transposed[(24 + g) * Stride + 0 + t], transposed[(24 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N30, ref N31, ref N32, ref N33, p10, p11, p12, p13,
            transposed[(24 + g) * Stride + 8 + t], transposed[(24 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N30, ref N31, ref N32, ref N33, p20, p21, p22, p23,
            transposed[(24 + g) * Stride + 16 + t], transposed[(24 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N30, ref N31, ref N32, ref N33, p30, p31, p32, p33,
            transposed[(24 + g) * Stride + 24 + t], transposed[(24 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N40, ref N41, ref N42, ref N43, p00, p01, p02, p03,
            transposed[(32 + g) * Stride + 0 + t], transposed[(32 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N40, ref N41, ref N42, ref N43, p10, p11, p12, p13,
            transposed[(32 + g) * Stride + 8 + t], transposed[(32 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N40, ref N41, ref N42, ref N43, p20, p21, p22, p23,
            transposed[(32 + g) * Stride + 16 + t], transposed[(32 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N40, ref N41, ref N42, ref N43, p30, p31, p32, p33,
            transposed[(32 + g) * Stride + 24 + t], transposed[(32 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N50, ref N51, ref N52, ref N53, p00, p01, p02, p03,
            transposed[(40 + g) * Stride + 0 + t], transposed[(40 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N50, ref N51, ref N52, ref N53, p10, p11, p12, p13,
            transposed[(40 + g) * Stride + 8 + t], transposed[(40 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N50, ref N51, ref N52, ref N53, p20, p21, p22, p23,
            transposed[(40 + g) * Stride + 16 + t], transposed[(40 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N50, ref N51, ref N52, ref N53, p30, p31, p32, p33,
            transposed[(40 + g) * Stride + 24 + t], transposed[(40 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N60, ref N61, ref N62, ref N63, p00, p01, p02, p03,
            transposed[(48 + g) * Stride + 0 + t], transposed[(48 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N60, ref N61, ref N62, ref N63, p10, p11, p12, p13,
            transposed[(48 + g) * Stride + 8 + t], transposed[(48 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N60, ref N61, ref N62, ref N63, p20, p21, p22, p23,
            transposed[(48 + g) * Stride + 16 + t], transposed[(48 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N60, ref N61, ref N62, ref N63, p30, p31, p32, p33,
            transposed[(48 + g) * Stride + 24 + t], transposed[(48 + g) * Stride + 28 + t]);
        FlashTensorCore.MmaBf16(ref N70, ref N71, ref N72, ref N73, p00, p01, p02, p03,
            transposed[(56 + g) * Stride + 0 + t], transposed[(56 + g) * Stride + 4 + t]);
        FlashTensorCore.MmaBf16(ref N70, ref N71, ref N72, ref N73, p10, p11, p12, p13,
            transposed[(56 + g) * Stride + 8 + t], transposed[(56 + g) * Stride + 12 + t]);
        FlashTensorCore.MmaBf16(ref N70, ref N71, ref N72, ref N73, p20, p21, p22, p23,
            transposed[(56 + g) * Stride + 16 + t], transposed[(56 + g) * Stride + 20 + t]);
        FlashTensorCore.MmaBf16(ref N70, ref N71, ref N72, ref N73, p30, p31, p32, p33,
            transposed[(56 + g) * Stride + 24 + t], transposed[(56 + g) * Stride + 28 + t]);
    }

    /// <summary>
    /// Scores in base 2: every element × c, and −∞ where key column kFirst + n·8 (+1) lies after the row (kFirst includes 2t)
    /// (rowLo for registers 0, 1; rowLo + 8 for registers 2, 3), when <paramref name="mask"/> is set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ScaleAndMask(float c, bool mask, int kFirst, int rowLo)
    {
        int rowHi = rowLo + 8;
        N00 = mask && kFirst + 0 > rowLo ? float.NegativeInfinity : N00 * c;
        N01 = mask && kFirst + 1 > rowLo ? float.NegativeInfinity : N01 * c;
        N02 = mask && kFirst + 0 > rowHi ? float.NegativeInfinity : N02 * c;
        N03 = mask && kFirst + 1 > rowHi ? float.NegativeInfinity : N03 * c;
        N10 = mask && kFirst + 8 > rowLo ? float.NegativeInfinity : N10 * c;
        N11 = mask && kFirst + 9 > rowLo ? float.NegativeInfinity : N11 * c;
        N12 = mask && kFirst + 8 > rowHi ? float.NegativeInfinity : N12 * c;
        N13 = mask && kFirst + 9 > rowHi ? float.NegativeInfinity : N13 * c;
        N20 = mask && kFirst + 16 > rowLo ? float.NegativeInfinity : N20 * c;
        N21 = mask && kFirst + 17 > rowLo ? float.NegativeInfinity : N21 * c;
        N22 = mask && kFirst + 16 > rowHi ? float.NegativeInfinity : N22 * c;
        N23 = mask && kFirst + 17 > rowHi ? float.NegativeInfinity : N23 * c;
        N30 = mask && kFirst + 24 > rowLo ? float.NegativeInfinity : N30 * c;
        N31 = mask && kFirst + 25 > rowLo ? float.NegativeInfinity : N31 * c;
        N32 = mask && kFirst + 24 > rowHi ? float.NegativeInfinity : N32 * c;
        N33 = mask && kFirst + 25 > rowHi ? float.NegativeInfinity : N33 * c;
        N40 = mask && kFirst + 32 > rowLo ? float.NegativeInfinity : N40 * c;
        N41 = mask && kFirst + 33 > rowLo ? float.NegativeInfinity : N41 * c;
        N42 = mask && kFirst + 32 > rowHi ? float.NegativeInfinity : N42 * c;
        N43 = mask && kFirst + 33 > rowHi ? float.NegativeInfinity : N43 * c;
        N50 = mask && kFirst + 40 > rowLo ? float.NegativeInfinity : N50 * c;
        N51 = mask && kFirst + 41 > rowLo ? float.NegativeInfinity : N51 * c;
        N52 = mask && kFirst + 40 > rowHi ? float.NegativeInfinity : N52 * c;
        N53 = mask && kFirst + 41 > rowHi ? float.NegativeInfinity : N53 * c;
        N60 = mask && kFirst + 48 > rowLo ? float.NegativeInfinity : N60 * c;
        N61 = mask && kFirst + 49 > rowLo ? float.NegativeInfinity : N61 * c;
        N62 = mask && kFirst + 48 > rowHi ? float.NegativeInfinity : N62 * c;
        N63 = mask && kFirst + 49 > rowHi ? float.NegativeInfinity : N63 * c;
        N70 = mask && kFirst + 56 > rowLo ? float.NegativeInfinity : N70 * c;
        N71 = mask && kFirst + 57 > rowLo ? float.NegativeInfinity : N71 * c;
        N72 = mask && kFirst + 56 > rowHi ? float.NegativeInfinity : N72 * c;
        N73 = mask && kFirst + 57 > rowHi ? float.NegativeInfinity : N73 * c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float MaxLo() => XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(N00, N01), N10), N11), N20), N21), N30), N31), N40), N41), N50), N51), N60), N61), N70), N71);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float MaxHi() => XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(XMath.Max(N02, N03), N12), N13), N22), N23), N32), N33), N42), N43), N52), N53), N62), N63), N72), N73);

    /// <summary>Registers of row g ← 2^(x − mLo), of row g+8 ← 2^(x − mHi); returns the two partial row sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exp2Minus(float mLo, float mHi, out float sumLo, out float sumHi)
    {
        N00 = XMath.Exp2(N00 - mLo); N01 = XMath.Exp2(N01 - mLo); N02 = XMath.Exp2(N02 - mHi); N03 = XMath.Exp2(N03 - mHi);
        N10 = XMath.Exp2(N10 - mLo); N11 = XMath.Exp2(N11 - mLo); N12 = XMath.Exp2(N12 - mHi); N13 = XMath.Exp2(N13 - mHi);
        N20 = XMath.Exp2(N20 - mLo); N21 = XMath.Exp2(N21 - mLo); N22 = XMath.Exp2(N22 - mHi); N23 = XMath.Exp2(N23 - mHi);
        N30 = XMath.Exp2(N30 - mLo); N31 = XMath.Exp2(N31 - mLo); N32 = XMath.Exp2(N32 - mHi); N33 = XMath.Exp2(N33 - mHi);
        N40 = XMath.Exp2(N40 - mLo); N41 = XMath.Exp2(N41 - mLo); N42 = XMath.Exp2(N42 - mHi); N43 = XMath.Exp2(N43 - mHi);
        N50 = XMath.Exp2(N50 - mLo); N51 = XMath.Exp2(N51 - mLo); N52 = XMath.Exp2(N52 - mHi); N53 = XMath.Exp2(N53 - mHi);
        N60 = XMath.Exp2(N60 - mLo); N61 = XMath.Exp2(N61 - mLo); N62 = XMath.Exp2(N62 - mHi); N63 = XMath.Exp2(N63 - mHi);
        N70 = XMath.Exp2(N70 - mLo); N71 = XMath.Exp2(N71 - mLo); N72 = XMath.Exp2(N72 - mHi); N73 = XMath.Exp2(N73 - mHi);
        sumLo = (N00 + N01) + (N10 + N11) + (N20 + N21) + (N30 + N31) + (N40 + N41) + (N50 + N51) + (N60 + N61) + (N70 + N71);
        sumHi = (N02 + N03) + (N12 + N13) + (N22 + N23) + (N32 + N33) + (N42 + N43) + (N52 + N53) + (N62 + N63) + (N72 + N73);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ScaleRows(float lo, float hi)
    {
        N00 *= lo; N01 *= lo; N02 *= hi; N03 *= hi;
        N10 *= lo; N11 *= lo; N12 *= hi; N13 *= hi;
        N20 *= lo; N21 *= lo; N22 *= hi; N23 *= hi;
        N30 *= lo; N31 *= lo; N32 *= hi; N33 *= hi;
        N40 *= lo; N41 *= lo; N42 *= hi; N43 *= hi;
        N50 *= lo; N51 *= lo; N52 *= hi; N53 *= hi;
        N60 *= lo; N61 *= lo; N62 *= hi; N63 *= hi;
        N70 *= lo; N71 *= lo; N72 *= hi; N73 *= hi;
    }

    /// <summary>
    /// Row g (registers 0, 1) × cLo to the row starting at <paramref name="rowLoStart"/>, row g+8 (registers 2, 3) × cHi to
    /// the row at <paramref name="rowHiStart"/>, narrowed to bf16; columns n·8 + <paramref name="tid2"/> (+1), tid2 = 2t.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Store(ArrayView<ushort> destination, long rowLoStart, long rowHiStart, bool writeLo, bool writeHi, int tid2, float cLo, float cHi)
    {
        var e = default(Bf16Element);
        if (writeLo)
        {
            destination[rowLoStart + 0 + tid2] = e.Narrow(N00 * cLo); destination[rowLoStart + 1 + tid2] = e.Narrow(N01 * cLo);
            destination[rowLoStart + 8 + tid2] = e.Narrow(N10 * cLo); destination[rowLoStart + 9 + tid2] = e.Narrow(N11 * cLo);
            destination[rowLoStart + 16 + tid2] = e.Narrow(N20 * cLo); destination[rowLoStart + 17 + tid2] = e.Narrow(N21 * cLo);
            destination[rowLoStart + 24 + tid2] = e.Narrow(N30 * cLo); destination[rowLoStart + 25 + tid2] = e.Narrow(N31 * cLo);
            destination[rowLoStart + 32 + tid2] = e.Narrow(N40 * cLo); destination[rowLoStart + 33 + tid2] = e.Narrow(N41 * cLo);
            destination[rowLoStart + 40 + tid2] = e.Narrow(N50 * cLo); destination[rowLoStart + 41 + tid2] = e.Narrow(N51 * cLo);
            destination[rowLoStart + 48 + tid2] = e.Narrow(N60 * cLo); destination[rowLoStart + 49 + tid2] = e.Narrow(N61 * cLo);
            destination[rowLoStart + 56 + tid2] = e.Narrow(N70 * cLo); destination[rowLoStart + 57 + tid2] = e.Narrow(N71 * cLo);
        }
        if (writeHi)
        {
            destination[rowHiStart + 0 + tid2] = e.Narrow(N02 * cHi); destination[rowHiStart + 1 + tid2] = e.Narrow(N03 * cHi);
            destination[rowHiStart + 8 + tid2] = e.Narrow(N12 * cHi); destination[rowHiStart + 9 + tid2] = e.Narrow(N13 * cHi);
            destination[rowHiStart + 16 + tid2] = e.Narrow(N22 * cHi); destination[rowHiStart + 17 + tid2] = e.Narrow(N23 * cHi);
            destination[rowHiStart + 24 + tid2] = e.Narrow(N32 * cHi); destination[rowHiStart + 25 + tid2] = e.Narrow(N33 * cHi);
            destination[rowHiStart + 32 + tid2] = e.Narrow(N42 * cHi); destination[rowHiStart + 33 + tid2] = e.Narrow(N43 * cHi);
            destination[rowHiStart + 40 + tid2] = e.Narrow(N52 * cHi); destination[rowHiStart + 41 + tid2] = e.Narrow(N53 * cHi);
            destination[rowHiStart + 48 + tid2] = e.Narrow(N62 * cHi); destination[rowHiStart + 49 + tid2] = e.Narrow(N63 * cHi);
            destination[rowHiStart + 56 + tid2] = e.Narrow(N72 * cHi); destination[rowHiStart + 57 + tid2] = e.Narrow(N73 * cHi);
        }
    }
}

/// <summary>A warp's 16×64 bf16 A operand (its Q rows) as four m16k16 A fragments: K{k}{r} is register r of k-step k.</summary>
internal struct FlashQFragments16x64
{
    public uint K00, K01, K02, K03, K10, K11, K12, K13, K20, K21, K22, K23, K30, K31, K32, K33;

    /// <summary>Loads rows rowLo and rowLo + 8 (zero when ≥ <paramref name="t"/>) of a (·, 64) bf16 matrix at <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load(ArrayView<ushort> source, long start, int rowLo, int t, int tid2)
    {
        bool lo = rowLo < t, hi = rowLo + 8 < t;
        long a = start + (long)rowLo * 64 + tid2, b = a + 8 * 64;
        K00 = lo ? (uint)source[a + 0] | ((uint)source[a + 1] << 16) : 0u;
        K01 = hi ? (uint)source[b + 0] | ((uint)source[b + 1] << 16) : 0u;
        K02 = lo ? (uint)source[a + 8] | ((uint)source[a + 9] << 16) : 0u;
        K03 = hi ? (uint)source[b + 8] | ((uint)source[b + 9] << 16) : 0u;
        K10 = lo ? (uint)source[a + 16] | ((uint)source[a + 17] << 16) : 0u;
        K11 = hi ? (uint)source[b + 16] | ((uint)source[b + 17] << 16) : 0u;
        K12 = lo ? (uint)source[a + 24] | ((uint)source[a + 25] << 16) : 0u;
        K13 = hi ? (uint)source[b + 24] | ((uint)source[b + 25] << 16) : 0u;
        K20 = lo ? (uint)source[a + 32] | ((uint)source[a + 33] << 16) : 0u;
        K21 = hi ? (uint)source[b + 32] | ((uint)source[b + 33] << 16) : 0u;
        K22 = lo ? (uint)source[a + 40] | ((uint)source[a + 41] << 16) : 0u;
        K23 = hi ? (uint)source[b + 40] | ((uint)source[b + 41] << 16) : 0u;
        K30 = lo ? (uint)source[a + 48] | ((uint)source[a + 49] << 16) : 0u;
        K31 = hi ? (uint)source[b + 48] | ((uint)source[b + 49] << 16) : 0u;
        K32 = lo ? (uint)source[a + 56] | ((uint)source[a + 57] << 16) : 0u;
        K33 = hi ? (uint)source[b + 56] | ((uint)source[b + 57] << 16) : 0u;
    }
}

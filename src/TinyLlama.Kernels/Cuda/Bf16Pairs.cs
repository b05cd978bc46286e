using ILGPU;

namespace TinyLlama.Kernels;

/// <summary>
/// Two bf16 values packed in one uint, the layout of the f16x2/bf16x2 tensor-core operands: element 2i in the low
/// half, element 2i+1 in the high half. That is exactly how a bf16 array (ushort[]) looks when read as uint[] on a
/// little-endian machine, so a kernel may cast an even-length bf16 view to <c>ArrayView&lt;uint&gt;</c> and use these
/// helpers. Written in integer arithmetic, so they run on the CPU, on ILGPU's CPU accelerator and on the GPU alike;
/// rounding is <see cref="Bf16Element.Narrow"/>'s (nearest, ties to even), bit for bit the CPU's
/// <see cref="BFloat16.FromFloatReference"/>. (The GPU's <c>cvt.rn.bf16x2.f32</c> rounds the same way but turns every
/// NaN into one canonical NaN, so it is not used where results are compared bit for bit.)
/// </summary>
public static class Bf16Pairs
{
    public static uint Pack(float low, float high) =>
        default(Bf16Element).Narrow(low) | ((uint)default(Bf16Element).Narrow(high) << 16);

    public static uint Pack(ushort low, ushort high) => low | ((uint)high << 16);

    /// <summary>The element at the even index, widened exactly.</summary>
    public static float Low(uint pair) => Interop.IntAsFloat(pair << 16);

    /// <summary>The element at the odd index, widened exactly.</summary>
    public static float High(uint pair) => Interop.IntAsFloat(pair & 0xFFFF_0000u);

    public static ushort LowBits(uint pair) => (ushort)pair;

    public static ushort HighBits(uint pair) => (ushort)(pair >> 16);
}

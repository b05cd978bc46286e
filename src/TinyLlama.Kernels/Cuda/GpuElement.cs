using ILGPU;

namespace TinyLlama.Kernels;

/// <summary>
/// How a GPU kernel reads and writes one storage element: every kernel computes in f32 and is generic over the
/// storage type through a struct implementing this interface, so one kernel body serves f32 and bf16 tensors.
/// ILGPU specialises generic kernels per struct type argument, so the call costs nothing on the GPU.
/// </summary>
public interface IGpuElement<T> where T : unmanaged
{
    float Widen(T value);
    T Narrow(float value);
}

/// <summary>f32 storage: widening and narrowing are the identity.</summary>
public readonly struct F32Element : IGpuElement<float>
{
    public float Widen(float value) => value;
    public float Narrow(float value) => value;
}

/// <summary>
/// bf16 storage as the top 16 bits of an f32 (ILGPU has no bf16 type). Narrowing rounds to nearest, ties to even,
/// exactly as <see cref="BFloat16.FromFloat(float)"/> does on the CPU, so a GPU result can be compared bit for bit.
/// </summary>
public readonly struct Bf16Element : IGpuElement<ushort>
{
    public float Widen(ushort value) => Interop.IntAsFloat((uint)value << 16);

    public ushort Narrow(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        // A NaN keeps its sign and top payload with the quiet bit set; the rounding carry must not turn it into Inf.
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x0040u);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }
}

namespace TinyLlama.Tensors;

/// <summary>
/// Element types. F32 is the compute type on the CPU, F64 is used for gradient checks,
/// BF16 (stored as ushort) and F16 are storage types for weights and activations, I32 holds token ids.
/// </summary>
public enum DType
{
    F32,
    F64,
    BF16,
    F16,
    I32,
}

public static class DTypeExtensions
{
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F64 => 8,
        DType.BF16 or DType.F16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Lower-case name as used in messages and checkpoints: f32, f64, bf16, f16, i32.</summary>
    public static string Name(this DType dtype) => dtype.ToString().ToLowerInvariant();

    /// <summary>The dtypes arithmetic ops run in on the CPU.</summary>
    public static bool IsComputeType(this DType dtype) => dtype is DType.F32 or DType.F64;

    /// <summary>The dtypes arithmetic ops run in on a cuda device: f32, and bf16 storage with f32 math inside the kernels.</summary>
    public static bool IsGpuComputeType(this DType dtype) => dtype is DType.F32 or DType.BF16;

    /// <summary>Floating dtypes, between which a cast is differentiable.</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.F32 or DType.F64 or DType.BF16 or DType.F16;

    public static DType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.F32 :
        typeof(T) == typeof(double) ? DType.F64 :
        typeof(T) == typeof(ushort) ? DType.BF16 :
        typeof(T) == typeof(Half) ? DType.F16 :
        typeof(T) == typeof(int) ? DType.I32 :
        throw new NotSupportedException($"no tensor dtype for element type {typeof(T).Name}");
}

using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// The dtype names a safetensors header may use (exactly as the reference implementation spells them) and how
/// each maps onto our tensor dtypes. Every known name can be validated and copied; the floating ones and the
/// integers read into tensors (integers and BOOL widen to i32, with a range check where they could overflow).
/// The sub-byte formats (F4, F6_*) have no whole-byte size and are refused as unknown.
/// </summary>
public static class SafetensorsDTypes
{
    private static readonly Dictionary<string, int> s_sizes = new(StringComparer.Ordinal)
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2,
        ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1,
        ["U64"] = 8, ["U32"] = 4, ["U16"] = 2, ["U8"] = 1,
        ["BOOL"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1, ["F8_E8M0"] = 1, ["C64"] = 8,
    };

    public static IEnumerable<string> Known => s_sizes.Keys;

    public static bool IsKnown(string name) => s_sizes.ContainsKey(name);

    public static int SizeInBytes(string name) =>
        s_sizes.TryGetValue(name, out int size) ? size : throw new ArgumentException($"unknown safetensors dtype '{name}'", nameof(name));

    public static bool IsFloating(string name) => name is "F64" or "F32" or "F16" or "BF16";

    /// <summary>The header name of a tensor dtype: F32, F64, BF16, F16, I32.</summary>
    public static string NameOf(DType dtype) => dtype switch
    {
        DType.F32 => "F32",
        DType.F64 => "F64",
        DType.BF16 => "BF16",
        DType.F16 => "F16",
        DType.I32 => "I32",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "no safetensors name for this dtype"),
    };

    /// <summary>The tensor dtype a stored dtype reads into when no other is asked for; null for 8-bit floats and complex.</summary>
    public static DType? TensorTypeOf(string name) => name switch
    {
        "F64" => DType.F64,
        "F32" => DType.F32,
        "F16" => DType.F16,
        "BF16" => DType.BF16,
        "I64" or "I32" or "I16" or "I8" or "U64" or "U32" or "U16" or "U8" or "BOOL" => DType.I32,
        _ => null,
    };
}

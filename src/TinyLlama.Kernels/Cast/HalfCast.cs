using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace TinyLlama.Kernels;

/// <summary>
/// IEEE half precision (f16) ⇄ float32 over spans, for f16 tensors stored either as <see cref="Half"/> or as their
/// ushort bit patterns. Narrowing rounds to nearest, ties to even (as the <see cref="Half"/> cast does); the work is
/// TensorPrimitives' vectorised conversion.
/// </summary>
public static class HalfCast
{
    public static void FromFloat(ReadOnlySpan<float> source, Span<Half> destination)
    {
        KernelArgs.Length("HalfCast.FromFloat", "destination", destination.Length, source.Length, "source.Length");
        TensorPrimitives.ConvertToHalf(source, destination);
    }

    public static void ToFloat(ReadOnlySpan<Half> source, Span<float> destination)
    {
        KernelArgs.Length("HalfCast.ToFloat", "destination", destination.Length, source.Length, "source.Length");
        TensorPrimitives.ConvertToSingle(source, destination);
    }

    /// <summary>Same as <see cref="FromFloat(ReadOnlySpan{float}, Span{Half})"/>, writing the bit patterns.</summary>
    public static void FromFloat(ReadOnlySpan<float> source, Span<ushort> destination)
        => FromFloat(source, MemoryMarshal.Cast<ushort, Half>(destination));

    /// <summary>Same as <see cref="ToFloat(ReadOnlySpan{Half}, Span{float})"/>, reading the bit patterns.</summary>
    public static void ToFloat(ReadOnlySpan<ushort> source, Span<float> destination)
        => ToFloat(MemoryMarshal.Cast<ushort, Half>(source), destination);
}

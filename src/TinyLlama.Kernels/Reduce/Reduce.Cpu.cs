using System.Numerics.Tensors;

namespace TinyLlama.Kernels;

public static partial class Reduce
{
    /// <summary>Row reduction on the CPU (SIMD through TensorPrimitives, f32 accumulation).</summary>
    public static void Rows(ReadOnlySpan<float> input, Span<float> output, int cols, ReduceOp op)
    {
        CheckRows("Reduce.Rows", input.Length, output.Length, cols);
        for (int r = 0; r < output.Length; r++)
            output[r] = All(input.Slice(r * cols, cols), op);
    }

    /// <summary>Full reduction on the CPU (SIMD, f32 accumulation).</summary>
    public static float All(ReadOnlySpan<float> input, ReduceOp op) => op switch
    {
        ReduceOp.Sum => TensorPrimitives.Sum(input),
        ReduceOp.Mean => TensorPrimitives.Sum(input) / input.Length,
        ReduceOp.Max => input.IsEmpty ? float.NegativeInfinity : TensorPrimitives.Max(input),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Reduce.All: unknown op"),
    };
}

namespace TinyLlama.Kernels;

/// <summary>The reduction a <see cref="Reduce"/> call computes.</summary>
public enum ReduceOp
{
    /// <summary>Σ x.</summary>
    Sum = 0,
    /// <summary>Σ x / n.</summary>
    Mean = 1,
    /// <summary>max x; a NaN anywhere gives NaN (as torch.max); −∞ for an empty input.</summary>
    Max = 2,
}

/// <summary>
/// Reductions over the last dimension of a (rows, cols) tensor, y[r] = op_{c} x[r, c], and over a whole tensor,
/// y = op_i x[i], for op ∈ {sum, mean, max}. Accumulation is f32 on the fast paths (double in the reference).
/// The sum over the broadcast dimensions that a broadcast's backward needs is <see cref="Broadcast.SumToShape"/>.
/// </summary>
public static partial class Reduce
{
    /// <summary>The definition of the row reduction, in double.</summary>
    public static void RowsReference(ReadOnlySpan<float> input, Span<float> output, int cols, ReduceOp op)
    {
        CheckRows("Reduce.RowsReference", input.Length, output.Length, cols);
        for (int r = 0; r < output.Length; r++)
            output[r] = (float)AllReference(input.Slice(r * cols, cols), op);
    }

    /// <summary>The definition of the full reduction, in double.</summary>
    public static double AllReference(ReadOnlySpan<float> input, ReduceOp op)
    {
        if (op == ReduceOp.Max)
        {
            double max = double.NegativeInfinity;
            foreach (float x in input)
            {
                if (float.IsNaN(x)) return double.NaN;
                max = Math.Max(max, x);
            }
            return max;
        }
        double sum = 0;
        foreach (float x in input) sum += x;
        return op == ReduceOp.Mean ? sum / input.Length : sum;
    }

    internal static void CheckRows(string op, long inputLength, long outputLength, int cols)
    {
        KernelArgs.Positive(op, "cols", cols);
        KernelArgs.Length(op, "input", inputLength, outputLength * cols, "output.Length·cols");
    }
}

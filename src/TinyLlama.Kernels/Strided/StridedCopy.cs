namespace TinyLlama.Kernels;

/// <summary>
/// Copy of a strided view into a contiguous buffer (e.g. materialising a permuted or sliced tensor):
///   destination[j] = source[Offset + Σ_k i_k·S_k], with (i_0..i_{r−1}) the row-major coordinates of j in the view's shape.
/// Transpose is the special case of a (…, R, C) view with its last two axes swapped:
///   destination[b, c, r] = source[b, r, c].
/// </summary>
public static partial class StridedCopy
{
    /// <summary>The definition, one element at a time, with coordinates computed from the shape arrays.</summary>
    public static void CopyReference<T>(ReadOnlySpan<T> source, StridedLayout layout, Span<T> destination)
    {
        layout.CheckInside("StridedCopy.CopyReference", "layout", source.Length);
        KernelArgs.Length("StridedCopy.CopyReference", "destination", destination.Length, layout.Count, "layout element count");
        int[] shape = layout.Shape, strides = layout.Strides;
        var index = new int[shape.Length];
        for (long j = 0; j < destination.Length; j++)
        {
            long rest = j, offset = layout.Offset;
            for (int k = shape.Length - 1; k >= 0; k--)
            {
                index[k] = (int)(rest % shape[k]);
                rest /= shape[k];
                offset += (long)index[k] * strides[k];
            }
            destination[(int)j] = source[(int)offset];
        }
    }

    /// <summary>The definition of the batched transpose: source (batch, rows, cols) → destination (batch, cols, rows).</summary>
    public static void TransposeReference<T>(ReadOnlySpan<T> source, Span<T> destination, int batch, int rows, int cols)
    {
        CheckTranspose("StridedCopy.TransposeReference", source.Length, destination.Length, batch, rows, cols);
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    destination[(b * cols + c) * rows + r] = source[(b * rows + r) * cols + c];
    }

    internal static void CheckTranspose(string op, long sourceLength, long destinationLength, int batch, int rows, int cols)
    {
        KernelArgs.NonNegative(op, "batch", batch);
        KernelArgs.NonNegative(op, "rows", rows);
        KernelArgs.NonNegative(op, "cols", cols);
        long count = (long)batch * rows * cols;
        KernelArgs.Length(op, "source", sourceLength, count, "batch·rows·cols");
        KernelArgs.Length(op, "destination", destinationLength, count, "batch·rows·cols");
    }
}

namespace TinyLlama.Kernels;

public static partial class StridedCopy
{
    /// <summary>
    /// CPU copy of a strided view: an odometer over the outer coordinates, and a plain loop (a block copy when the
    /// innermost stride is 1) along the innermost dimension.
    /// </summary>
    public static void Copy<T>(ReadOnlySpan<T> source, StridedLayout layout, Span<T> destination)
    {
        layout.CheckInside("StridedCopy.Copy", "layout", source.Length);
        KernelArgs.Length("StridedCopy.Copy", "destination", destination.Length, layout.Count, "layout element count");
        int[] shape = layout.Shape, strides = layout.Strides;
        int rank = shape.Length, inner = shape[rank - 1], innerStride = strides[rank - 1];
        var index = new int[rank];
        long outer = layout.Count / inner;
        int j = 0;
        for (long o = 0; o < outer; o++)
        {
            long offset = layout.Offset;
            for (int k = 0; k < rank - 1; k++) offset += (long)index[k] * strides[k];
            if (innerStride == 1)
                source.Slice((int)offset, inner).CopyTo(destination.Slice(j, inner));
            else
                for (int c = 0; c < inner; c++) destination[j + c] = source[(int)(offset + (long)c * innerStride)];
            j += inner;
            for (int k = rank - 2; k >= 0; k--)
            {
                if (++index[k] < shape[k]) break;
                index[k] = 0;
            }
        }
    }

    /// <summary>CPU batched transpose in 32×32 blocks, so both sides stay in cache.</summary>
    public static void Transpose<T>(ReadOnlySpan<T> source, Span<T> destination, int batch, int rows, int cols)
    {
        CheckTranspose("StridedCopy.Transpose", source.Length, destination.Length, batch, rows, cols);
        const int B = 32;
        for (int b = 0; b < batch; b++)
        {
            var src = source.Slice(b * rows * cols, rows * cols);
            var dst = destination.Slice(b * rows * cols, rows * cols);
            for (int r0 = 0; r0 < rows; r0 += B)
                for (int c0 = 0; c0 < cols; c0 += B)
                {
                    int r1 = Math.Min(rows, r0 + B), c1 = Math.Min(cols, c0 + B);
                    for (int c = c0; c < c1; c++)
                        for (int r = r0; r < r1; r++)
                            dst[c * rows + r] = src[r * cols + c];
                }
        }
    }
}

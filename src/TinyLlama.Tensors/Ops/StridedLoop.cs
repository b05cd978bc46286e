namespace TinyLlama.Tensors;

/// <summary>
/// Walks the rows of a strided view: every index of the leading axes (an odometer), handing the caller the element
/// offset of each operand at the start of a row of the last axis. All element loops over views go through here.
/// </summary>
internal static class StridedLoop
{
    /// <summary>Calls <paramref name="row"/>(offsets) for every row; offsets[j] is operand j's element offset.</summary>
    public static void ForEachRow(ReadOnlySpan<int> shape, long[][] strides, long[] offsets, Action<long[]> row)
    {
        int rank = shape.Length;
        int outer = rank - 1;
        long rows = 1;
        for (int i = 0; i < outer; i++) rows *= shape[i];
        if (rows == 0 || (rank > 0 && shape[rank - 1] == 0)) return;
        var index = new int[Math.Max(outer, 0)];
        var current = (long[])offsets.Clone();
        for (long r = 0; r < rows; r++)
        {
            row(current);
            // advance the odometer over the leading axes
            for (int axis = outer - 1; axis >= 0; axis--)
            {
                index[axis]++;
                for (int j = 0; j < current.Length; j++) current[j] += strides[j][axis];
                if (index[axis] < shape[axis]) break;
                for (int j = 0; j < current.Length; j++) current[j] -= strides[j][axis] * shape[axis];
                index[axis] = 0;
            }
        }
    }
}

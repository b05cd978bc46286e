namespace TinyLlama.Kernels;

/// <summary>
/// A strided view of up to <see cref="MaxRank"/> dimensions as an unmanaged struct with fixed fields, so a kernel can
/// take it by value (ILGPU kernels cannot take arrays). Dimensions are right-aligned: D5/S5 is the innermost
/// dimension, and the unused leading ones have size 1 and stride 0. Element (i0..i5) lives at
/// Offset + Σ ik·Sk in the underlying buffer. Offsets and element counts fit in an int (checked on the host), so
/// the device decomposition uses 32-bit division.
/// </summary>
public struct StridedLayout
{
    public const int MaxRank = 6;

    public int Rank;
    public int Offset;
    public int D0, D1, D2, D3, D4, D5;
    public int S0, S1, S2, S3, S4, S5;

    /// <summary>A layout from a shape and strides (elements, not bytes; any sign) and an element offset.</summary>
    public static StridedLayout Create(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, int offset = 0)
    {
        if (shape.Length < 1 || shape.Length > MaxRank)
            throw new ArgumentOutOfRangeException(nameof(shape), shape.Length, $"StridedLayout: shape has rank {shape.Length}, expected 1..{MaxRank}");
        if (strides.Length != shape.Length)
            throw new ArgumentException($"StridedLayout: strides has {strides.Length} entries, expected shape rank = {shape.Length}", nameof(strides));
        var layout = new StridedLayout { Rank = shape.Length, Offset = offset };
        for (int k = 0; k < MaxRank; k++) { layout.SetDim(k, 1); layout.SetStride(k, 0); }
        long count = 1;
        for (int k = 0; k < shape.Length; k++)
        {
            if (shape[k] < 1) throw new ArgumentOutOfRangeException(nameof(shape), shape[k], $"StridedLayout: shape[{k}] = {shape[k]}, expected ≥ 1");
            count *= shape[k];
            if (count > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(shape), $"StridedLayout: more than {int.MaxValue} elements");
            int slot = MaxRank - shape.Length + k;
            layout.SetDim(slot, shape[k]);
            layout.SetStride(slot, strides[k]);
        }
        return layout;
    }

    /// <summary>The dense row-major layout of <paramref name="shape"/>.</summary>
    public static StridedLayout Contiguous(ReadOnlySpan<int> shape) => Create(shape, ContiguousStrides(shape));

    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        long s = 1;
        for (int k = shape.Length - 1; k >= 0; k--) { strides[k] = (int)Math.Min(s, int.MaxValue); s *= Math.Max(shape[k], 1); }
        return strides;
    }

    /// <summary>The shape, outermost first.</summary>
    public readonly int[] Shape
    {
        get
        {
            var shape = new int[Rank];
            for (int k = 0; k < Rank; k++) shape[k] = Dim(MaxRank - Rank + k);
            return shape;
        }
    }

    /// <summary>The strides, outermost first.</summary>
    public readonly int[] Strides
    {
        get
        {
            var strides = new int[Rank];
            for (int k = 0; k < Rank; k++) strides[k] = Stride(MaxRank - Rank + k);
            return strides;
        }
    }

    public readonly long Count => (long)D0 * D1 * D2 * D3 * D4 * D5;

    /// <summary>The view with its axes reordered: axis k of the result is axis <paramref name="axes"/>[k] of this one.</summary>
    public readonly StridedLayout Permute(ReadOnlySpan<int> axes)
    {
        if (axes.Length != Rank) throw new ArgumentException($"StridedLayout.Permute: axes has {axes.Length} entries, expected rank = {Rank}", nameof(axes));
        int[] shape = Shape, strides = Strides;
        var seen = new bool[Rank];
        var newShape = new int[Rank];
        var newStrides = new int[Rank];
        for (int k = 0; k < Rank; k++)
        {
            if ((uint)axes[k] >= (uint)Rank || seen[axes[k]])
                throw new ArgumentException($"StridedLayout.Permute: axes is not a permutation of 0..{Rank - 1}", nameof(axes));
            seen[axes[k]] = true;
            newShape[k] = shape[axes[k]];
            newStrides[k] = strides[axes[k]];
        }
        return Create(newShape, newStrides, Offset);
    }

    /// <summary>The smallest and largest element offsets the view touches (host side, for bounds checks).</summary>
    public readonly (long Min, long Max) OffsetRange()
    {
        long min = Offset, max = Offset;
        for (int k = 0; k < MaxRank; k++)
        {
            long extent = (long)(Dim(k) - 1) * Stride(k);
            if (extent < 0) min += extent; else max += extent;
        }
        return (min, max);
    }

    /// <summary>Checks the view lies inside a buffer of <paramref name="bufferLength"/> elements; the message names the op and argument.</summary>
    public readonly void CheckInside(string op, string name, long bufferLength)
    {
        if (Rank < 1 || Rank > MaxRank)
            throw new ArgumentOutOfRangeException(name, Rank, $"{op}: {name} has rank {Rank}, expected 1..{MaxRank}");
        for (int k = 0; k < MaxRank; k++)
            if (Dim(k) < 1) throw new ArgumentOutOfRangeException(name, $"{op}: {name} has a dimension of size {Dim(k)}, expected ≥ 1");
        var (min, max) = OffsetRange();
        if (min < 0 || max >= bufferLength)
            throw new ArgumentOutOfRangeException(name,
                $"{op}: {name} reaches element offsets [{min}, {max}], outside the buffer of {bufferLength} elements");
        if (max > int.MaxValue) throw new ArgumentOutOfRangeException(name, $"{op}: {name} reaches offset {max} > int.MaxValue");
    }

    public readonly int Dim(int slot) => slot switch { 0 => D0, 1 => D1, 2 => D2, 3 => D3, 4 => D4, 5 => D5, _ => throw new ArgumentOutOfRangeException(nameof(slot)) };

    public readonly int Stride(int slot) => slot switch { 0 => S0, 1 => S1, 2 => S2, 3 => S3, 4 => S4, 5 => S5, _ => throw new ArgumentOutOfRangeException(nameof(slot)) };

    void SetDim(int slot, int value)
    {
        switch (slot) { case 0: D0 = value; break; case 1: D1 = value; break; case 2: D2 = value; break; case 3: D3 = value; break; case 4: D4 = value; break; default: D5 = value; break; }
    }

    void SetStride(int slot, int value)
    {
        switch (slot) { case 0: S0 = value; break; case 1: S1 = value; break; case 2: S2 = value; break; case 3: S3 = value; break; case 4: S4 = value; break; default: S5 = value; break; }
    }

    /// <summary>
    /// Device side: the buffer offset of the <paramref name="linear"/>-th element in row-major order of the view.
    /// Hand-unrolled from the innermost dimension out; a view of rank r does r − 1 divisions.
    /// </summary>
    public static int OffsetOf(StridedLayout l, int linear)
    {
        int off = l.Offset, r = linear, q;
        if (l.Rank == 1) return off + r * l.S5;
        q = r / l.D5; off += (r - q * l.D5) * l.S5; r = q;
        if (l.Rank == 2) return off + r * l.S4;
        q = r / l.D4; off += (r - q * l.D4) * l.S4; r = q;
        if (l.Rank == 3) return off + r * l.S3;
        q = r / l.D3; off += (r - q * l.D3) * l.S3; r = q;
        if (l.Rank == 4) return off + r * l.S2;
        q = r / l.D2; off += (r - q * l.D2) * l.S2; r = q;
        if (l.Rank == 5) return off + r * l.S1;
        q = r / l.D1; off += (r - q * l.D1) * l.S1; r = q;
        return off + r * l.S0;
    }
}

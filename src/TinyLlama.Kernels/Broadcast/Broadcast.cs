namespace TinyLlama.Kernels;

/// <summary>The element-wise operation of a broadcast binary op.</summary>
public enum BinaryOp
{
    Add = 0,
    Mul = 1,
}

/// <summary>
/// The index map of a broadcast binary op as an unmanaged struct a kernel takes by value: the output shape
/// right-aligned in D0..D5 (D5 innermost; unused leading dims are 1) and, per operand, the stride of each output
/// axis in that operand (0 where the operand is broadcast along it), and each operand's element offset (for
/// non-contiguous operand views: slices, permutations). Dense = 1 when both operands are contiguous with exactly the
/// output's shape and no offset, so element i of each is element i of the output and no index arithmetic is needed.
/// </summary>
public struct BroadcastLayout
{
    public int Rank;
    public int Dense;
    public int AOffset, BOffset;
    public int D0, D1, D2, D3, D4, D5;
    public int A0, A1, A2, A3, A4, A5;
    public int B0, B1, B2, B3, B4, B5;

    /// <summary>Offsets of one output element in each operand.</summary>
    public struct Pair
    {
        public int A;
        public int B;
    }

    /// <summary>Device side: the offsets in a and b of output element <paramref name="linear"/> (row-major), hand-unrolled: rank r costs r − 1 divisions.</summary>
    public static Pair Offsets(BroadcastLayout l, int linear)
    {
        var p = new Pair();
        if (l.Dense != 0) { p.A = linear; p.B = linear; return p; }
        int r = linear, q, c;
        if (l.Rank == 1) { p.A = l.AOffset + r * l.A5; p.B = l.BOffset + r * l.B5; return p; }
        q = r / l.D5; c = r - q * l.D5; p.A = l.AOffset + c * l.A5; p.B = l.BOffset + c * l.B5; r = q;
        if (l.Rank == 2) { p.A += r * l.A4; p.B += r * l.B4; return p; }
        q = r / l.D4; c = r - q * l.D4; p.A += c * l.A4; p.B += c * l.B4; r = q;
        if (l.Rank == 3) { p.A += r * l.A3; p.B += r * l.B3; return p; }
        q = r / l.D3; c = r - q * l.D3; p.A += c * l.A3; p.B += c * l.B3; r = q;
        if (l.Rank == 4) { p.A += r * l.A2; p.B += r * l.B2; return p; }
        q = r / l.D2; c = r - q * l.D2; p.A += c * l.A2; p.B += c * l.B2; r = q;
        if (l.Rank == 5) { p.A += r * l.A1; p.B += r * l.B1; return p; }
        q = r / l.D1; c = r - q * l.D1; p.A += c * l.A1; p.B += c * l.B1; r = q;
        p.A += r * l.A0; p.B += r * l.B0;
        return p;
    }
}

/// <summary>
/// Element-wise add and multiply with NumPy broadcasting, up to <see cref="StridedLayout.MaxRank"/> dimensions:
/// shapes are aligned at the right; along each axis the sizes must be equal or one of them 1 (a missing axis counts
/// as 1), and the output takes the larger size. out[i] = a[i'] ∘ b[i''] where i', i'' clamp broadcast coordinates to 0.
/// The backward of a broadcast operand is the sum of the output gradient over the axes it was broadcast along:
/// <see cref="SumToShapeReference"/>.
/// </summary>
public static partial class Broadcast
{
    /// <summary>The broadcast shape of two shapes (NumPy rules); throws naming both shapes when they do not broadcast.</summary>
    public static int[] Shape(ReadOnlySpan<int> aShape, ReadOnlySpan<int> bShape)
    {
        int rank = Math.Max(aShape.Length, bShape.Length);
        if (rank > StridedLayout.MaxRank || aShape.Length < 1 || bShape.Length < 1)
            throw new ArgumentException($"Broadcast: ranks {aShape.Length} and {bShape.Length}, expected 1..{StridedLayout.MaxRank}", nameof(aShape));
        var shape = new int[rank];
        for (int k = 0; k < rank; k++)
        {
            int a = Dim(aShape, k - (rank - aShape.Length)), b = Dim(bShape, k - (rank - bShape.Length));
            if (a < 1 || b < 1)
                throw new ArgumentOutOfRangeException(nameof(aShape), $"Broadcast: shapes ({string.Join(",", aShape.ToArray())}) and ({string.Join(",", bShape.ToArray())}) have a dimension < 1");
            if (a != b && a != 1 && b != 1)
                throw new ArgumentException($"Broadcast: shapes ({string.Join(",", aShape.ToArray())}) and ({string.Join(",", bShape.ToArray())}) do not broadcast (axis {k}: {a} vs {b})", nameof(bShape));
            shape[k] = Math.Max(a, b);
        }
        return shape;
    }

    /// <summary>The kernel's index map for contiguous operands of shapes <paramref name="aShape"/> and <paramref name="bShape"/>.</summary>
    public static BroadcastLayout Layout(ReadOnlySpan<int> aShape, ReadOnlySpan<int> bShape)
    {
        int[] shape = Shape(aShape, bShape);
        if (Count(shape) > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(aShape), "Broadcast: more than int.MaxValue output elements");
        int[] aStrides = OperandStrides(aShape, shape), bStrides = OperandStrides(bShape, shape);
        var l = new BroadcastLayout { Rank = shape.Length };
        l.Dense = Count(aShape) == Count(shape) && Count(bShape) == Count(shape) ? 1 : 0;
        int pad = StridedLayout.MaxRank - shape.Length;
        Span<int> d = stackalloc int[6], sa = stackalloc int[6], sb = stackalloc int[6];
        d.Fill(1);
        for (int k = 0; k < shape.Length; k++) { d[pad + k] = shape[k]; sa[pad + k] = aStrides[k]; sb[pad + k] = bStrides[k]; }
        (l.D0, l.D1, l.D2, l.D3, l.D4, l.D5) = (d[0], d[1], d[2], d[3], d[4], d[5]);
        (l.A0, l.A1, l.A2, l.A3, l.A4, l.A5) = (sa[0], sa[1], sa[2], sa[3], sa[4], sa[5]);
        (l.B0, l.B1, l.B2, l.B3, l.B4, l.B5) = (sb[0], sb[1], sb[2], sb[3], sb[4], sb[5]);
        return l;
    }

    /// <summary>
    /// The kernel's index map for operands that are strided views (shape, strides, offset) of their buffers: the
    /// broadcast shape comes from the views' shapes, and an operand's stride along an axis where it has size 1 is 0.
    /// </summary>
    public static BroadcastLayout Layout(StridedLayout a, StridedLayout b)
    {
        int[] aShape = a.Shape, bShape = b.Shape, aOwn = a.Strides, bOwn = b.Strides;
        int[] shape = Shape(aShape, bShape);
        if (Count(shape) > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(a), "Broadcast: more than int.MaxValue output elements");
        var l = new BroadcastLayout { Rank = shape.Length, AOffset = a.Offset, BOffset = b.Offset };
        int pad = StridedLayout.MaxRank - shape.Length, padA = shape.Length - aShape.Length, padB = shape.Length - bShape.Length;
        Span<int> d = stackalloc int[6], sa = stackalloc int[6], sb = stackalloc int[6];
        d.Fill(1);
        for (int k = 0; k < shape.Length; k++)
        {
            d[pad + k] = shape[k];
            if (k >= padA && aShape[k - padA] != 1) sa[pad + k] = aOwn[k - padA];
            if (k >= padB && bShape[k - padB] != 1) sb[pad + k] = bOwn[k - padB];
        }
        (l.D0, l.D1, l.D2, l.D3, l.D4, l.D5) = (d[0], d[1], d[2], d[3], d[4], d[5]);
        (l.A0, l.A1, l.A2, l.A3, l.A4, l.A5) = (sa[0], sa[1], sa[2], sa[3], sa[4], sa[5]);
        (l.B0, l.B1, l.B2, l.B3, l.B4, l.B5) = (sb[0], sb[1], sb[2], sb[3], sb[4], sb[5]);
        return l;
    }

    /// <summary>Strides of a contiguous operand along each axis of the output shape: 0 where it is broadcast.</summary>
    public static int[] OperandStrides(ReadOnlySpan<int> operandShape, ReadOnlySpan<int> outShape)
    {
        var strides = new int[outShape.Length];
        int[] own = StridedLayout.ContiguousStrides(operandShape);
        int pad = outShape.Length - operandShape.Length;
        for (int k = pad; k < outShape.Length; k++)
            strides[k] = operandShape[k - pad] == 1 ? 0 : own[k - pad];
        return strides;
    }

    public static long Count(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }

    static int Dim(ReadOnlySpan<int> shape, int k) => k < 0 ? 1 : shape[k];

    /// <summary>The definition: out = a ∘ b with coordinates computed from the shapes, in double, rounded once.</summary>
    public static void BinaryReference(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape,
        Span<float> output, BinaryOp op)
    {
        int[] shape = Shape(aShape, bShape);
        CheckBinary("Broadcast.BinaryReference", a.Length, aShape, b.Length, bShape, output.Length, shape);
        int[] sa = OperandStrides(aShape, shape), sb = OperandStrides(bShape, shape);
        for (int i = 0; i < output.Length; i++)
        {
            long rest = i, ia = 0, ib = 0;
            for (int k = shape.Length - 1; k >= 0; k--)
            {
                long c = rest % shape[k];
                rest /= shape[k];
                ia += c * sa[k];
                ib += c * sb[k];
            }
            double x = a[(int)ia], y = b[(int)ib];
            output[i] = (float)(op == BinaryOp.Add ? x + y : x * y);
        }
    }

    /// <summary>
    /// The definition of a broadcast backward: dTarget[j] = Σ dOut[i] over the output elements i that read target element j,
    /// i.e. the sum of dOut over the axes where <paramref name="targetShape"/> has size 1 or is missing. In double.
    /// </summary>
    public static void SumToShapeReference(ReadOnlySpan<float> dOut, ReadOnlySpan<int> outShape, Span<float> dTarget, ReadOnlySpan<int> targetShape)
    {
        CheckSumToShape("Broadcast.SumToShapeReference", dOut.Length, outShape, dTarget.Length, targetShape);
        int[] st = OperandStrides(targetShape, outShape);
        var sums = new double[dTarget.Length];
        for (int i = 0; i < dOut.Length; i++)
        {
            long rest = i, j = 0;
            for (int k = outShape.Length - 1; k >= 0; k--)
            {
                j += rest % outShape[k] * st[k];
                rest /= outShape[k];
            }
            sums[j] += dOut[i];
        }
        for (int j = 0; j < sums.Length; j++) dTarget[j] = (float)sums[j];
    }

    internal static void CheckBinary(string op, long a, ReadOnlySpan<int> aShape, long b, ReadOnlySpan<int> bShape, long output, ReadOnlySpan<int> shape)
    {
        KernelArgs.Length(op, "a", a, Count(aShape), "product of aShape");
        KernelArgs.Length(op, "b", b, Count(bShape), "product of bShape");
        KernelArgs.Length(op, "output", output, Count(shape), "product of the broadcast shape");
    }

    internal static void CheckSumToShape(string op, long dOut, ReadOnlySpan<int> outShape, long dTarget, ReadOnlySpan<int> targetShape)
    {
        bool fits = targetShape.Length >= 1 && targetShape.Length <= outShape.Length && outShape.Length <= StridedLayout.MaxRank;
        for (int k = 0; fits && k < targetShape.Length; k++)
        {
            int t = targetShape[k], o = outShape[outShape.Length - targetShape.Length + k];
            fits = o >= 1 && (t == o || t == 1);
        }
        if (!fits)
            throw new ArgumentException($"{op}: targetShape ({string.Join(",", targetShape.ToArray())}) does not broadcast to outShape ({string.Join(",", outShape.ToArray())})", nameof(targetShape));
        KernelArgs.Length(op, "dOut", dOut, Count(outShape), "product of outShape");
        KernelArgs.Length(op, "dTarget", dTarget, Count(targetShape), "product of targetShape");
        if (Count(outShape) > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(outShape), $"{op}: more than int.MaxValue elements");
    }
}

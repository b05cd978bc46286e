using System.Numerics.Tensors;

namespace TinyLlama.Kernels;

public static partial class Broadcast
{
    /// <summary>
    /// CPU broadcast add/mul: equal shapes and a broadcast scalar go through TensorPrimitives (SIMD); otherwise an
    /// odometer over the outer axes and a SIMD inner loop when both operands run contiguously along the last axis.
    /// </summary>
    public static void Binary(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape,
        Span<float> output, BinaryOp op)
    {
        int[] shape = Shape(aShape, bShape);
        CheckBinary("Broadcast.Binary", a.Length, aShape, b.Length, bShape, output.Length, shape);
        if (a.Length == output.Length && b.Length == output.Length) { Apply(a, b, output, op); return; }
        if (a.Length == output.Length && b.Length == 1) { Apply(a, b[0], output, op); return; }
        if (b.Length == output.Length && a.Length == 1) { Apply(b, a[0], output, op); return; }
        int[] sa = OperandStrides(aShape, shape), sb = OperandStrides(bShape, shape);
        int rank = shape.Length, inner = shape[rank - 1];
        int ia1 = sa[rank - 1], ib1 = sb[rank - 1];
        var index = new int[rank];
        for (int o = 0; o < output.Length; o += inner)
        {
            int ia = 0, ib = 0;
            for (int k = 0; k < rank - 1; k++) { ia += index[k] * sa[k]; ib += index[k] * sb[k]; }
            var dst = output.Slice(o, inner);
            if (ia1 == 1 && ib1 == 1) Apply(a.Slice(ia, inner), b.Slice(ib, inner), dst, op);
            else if (ia1 == 1 && ib1 == 0) Apply(a.Slice(ia, inner), b[ib], dst, op);
            else if (ia1 == 0 && ib1 == 1) Apply(b.Slice(ib, inner), a[ia], dst, op);
            else for (int c = 0; c < inner; c++) dst[c] = op == BinaryOp.Add ? a[ia + c * ia1] + b[ib + c * ib1] : a[ia + c * ia1] * b[ib + c * ib1];
            for (int k = rank - 2; k >= 0; k--)
            {
                if (++index[k] < shape[k]) break;
                index[k] = 0;
            }
        }
    }

    /// <summary>CPU broadcast backward: accumulates dOut into f32 sums of the target's shape, in output order.</summary>
    public static void SumToShape(ReadOnlySpan<float> dOut, ReadOnlySpan<int> outShape, Span<float> dTarget, ReadOnlySpan<int> targetShape)
    {
        CheckSumToShape("Broadcast.SumToShape", dOut.Length, outShape, dTarget.Length, targetShape);
        if (dTarget.Length == dOut.Length) { dOut.CopyTo(dTarget); return; }
        int[] st = OperandStrides(targetShape, outShape);
        int rank = outShape.Length, inner = outShape[rank - 1], innerStride = st[rank - 1];
        dTarget.Clear();
        var index = new int[rank];
        for (int o = 0; o < dOut.Length; o += inner)
        {
            int j = 0;
            for (int k = 0; k < rank - 1; k++) j += index[k] * st[k];
            var src = dOut.Slice(o, inner);
            if (innerStride == 1) TensorPrimitives.Add(dTarget.Slice(j, inner), src, dTarget.Slice(j, inner));
            else dTarget[j] += TensorPrimitives.Sum(src);
            for (int k = rank - 2; k >= 0; k--)
            {
                if (++index[k] < outShape[k]) break;
                index[k] = 0;
            }
        }
    }

    static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> output, BinaryOp op)
    {
        if (op == BinaryOp.Add) TensorPrimitives.Add(x, y, output); else TensorPrimitives.Multiply(x, y, output);
    }

    static void Apply(ReadOnlySpan<float> x, float y, Span<float> output, BinaryOp op)
    {
        if (op == BinaryOp.Add) TensorPrimitives.Add(x, y, output); else TensorPrimitives.Multiply(x, y, output);
    }
}

using System.Numerics;
using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// Matrix products on the packed GEMM kernel (cuda tensors: <see cref="GpuFunctional.MatMul"/>, the same rules).
/// Transposed views are passed to the kernel as transposed operands, so <c>x.MatMul(w.Transpose())</c> never copies w.
/// </summary>
public sealed partial class Tensor
{
    /// <summary>
    /// (…, M, K) @ (…, K, N) → (…, M, N). A 2-D right operand is shared by every batch entry (one GEMM over all rows);
    /// otherwise the batch axes broadcast as in NumPy.
    /// </summary>
    public Tensor MatMul(Tensor other) => MatMul(this, other);

    public static Tensor MatMul(Tensor a, Tensor b)
    {
        const string op = "matmul";
        if (OpChecks.AnyOnGpu(a, b)) return GpuFunctional.MatMul(a, b);
        var dtype = OpChecks.ComputeInputs(op, a, b);
        CheckMatMulShapes(op, a, b, out int m, out int k, out int n);

        Tensor result;
        if (b.Rank == 2)
        {
            // Fold a's batch axes into its rows: one large GEMM is faster than many small ones.
            int[] outShape = [.. a._shape[..^1], n];
            using var a2 = a.Rank == 2 ? a.Alias() : WithoutGrad(() => a.Reshape(-1, k));
            result = new Tensor(outShape, dtype, zeroed: false);
            Multiply(dtype, a2, b, result, m: a2._shape[0], n, k, batch: 1);
        }
        else
        {
            int[] batchShape = Shapes.Broadcast(op, a._shape[..^2], b._shape[..^2]);
            using var ab = WithoutGrad(() => BroadcastBatch(a, batchShape));
            using var bb = WithoutGrad(() => BroadcastBatch(b, batchShape));
            int batch = checked((int)Shapes.Numel(batchShape));
            result = new Tensor([.. batchShape, m, n], dtype, zeroed: false);
            Multiply(dtype, ab, bb, result, m, n, k, batch);
        }
        return Autograd.Record(result, new MatMulFunction(a, b), a, b);
    }

    /// <summary>Both operands of rank ≥ 2 and chaining: a (…, M, K), b (…, K, N).</summary>
    internal static void CheckMatMulShapes(string op, Tensor a, Tensor b, out int m, out int k, out int n)
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"{op}: shapes {a.ShapeText} and {b.ShapeText}; both operands need rank ≥ 2 (use Unsqueeze for vectors)");
        m = a._shape[^2];
        k = a._shape[^1];
        n = b._shape[^1];
        if (b._shape[^2] != k)
            throw new ArgumentException($"{op}: shapes {a.ShapeText} and {b.ShapeText} do not chain: a has K = {k} columns but b has {b._shape[^2]} rows");
    }

    /// <summary>a with its batch axes broadcast to batchShape (a copy only when broadcasting actually happens).</summary>
    internal static Tensor BroadcastBatch(Tensor t, int[] batchShape)
    {
        int[] full = [.. batchShape, t._shape[^2], t._shape[^1]];
        return t.Shape.SequenceEqual(full) ? t.Alias() : t.ExpandCopy(full);
    }

    private static void Multiply(DType dtype, Tensor a, Tensor b, Tensor c, int m, int n, int k, int batch)
    {
        if (dtype == DType.F32) MultiplyTyped<float>(a, b, c, m, n, k, batch);
        else MultiplyTyped<double>(a, b, c, m, n, k, batch);
    }

    private static unsafe void MultiplyTyped<T>(Tensor a, Tensor b, Tensor c, int m, int n, int k, int batch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        using var av = a.AsMatrixOperand(out bool transA, out int lda, out long strideA);
        using var bv = b.AsMatrixOperand(out bool transB, out int ldb, out long strideB);
        var aSpan = av.StorageSpan<T>();
        var bSpan = bv.StorageSpan<T>();
        var cSpan = c.AsSpan<T>();
        if (batch == 1)
            Gemm.Multiply(transA, transB, m, n, k, T.One, aSpan, lda, bSpan, ldb, T.Zero, cSpan, n);
        else
            Gemm.MultiplyBatched(transA, transB, m, n, k, T.One, aSpan, lda, strideA, bSpan, ldb, strideB, T.Zero, cSpan, n, (long)m * n, batch);
    }

    /// <summary>
    /// This tensor as a stack of matrices the GEMM kernel can read in place: rows contiguous (ld = row stride) or
    /// columns contiguous (a transposed view, ld = column stride), with one stride between batch entries.
    /// Anything else is copied to a contiguous tensor first.
    /// </summary>
    internal Tensor AsMatrixOperand(out bool transposed, out int ld, out long batchStride)
    {
        int r = _shape[^2], c = _shape[^1];
        long sr = _strides[^2], sc = _strides[^1];
        bool batchCollapses = true;
        for (int i = 0; i < Rank - 3; i++)
            if (_shape[i] != 1 && _strides[i] != _strides[i + 1] * _shape[i + 1]) batchCollapses = false;
        batchStride = Rank > 2 ? _strides[Rank - 3] : 0;
        if (batchCollapses && (sc == 1 || c == 1) && sr >= c && sr <= int.MaxValue)
        {
            transposed = false;
            ld = (int)Math.Max(sr, Math.Max(1, c));
            return Alias();
        }
        if (batchCollapses && (sr == 1 || r == 1) && sc >= r && sc <= int.MaxValue)
        {
            transposed = true;
            ld = (int)Math.Max(sc, Math.Max(1, r));
            return Alias();
        }
        var copy = CopyContiguous();
        transposed = false;
        ld = Math.Max(1, c);
        batchStride = (long)r * c;
        return copy;
    }

    /// <summary>The storage from this view's offset to its end (for kernels that take leading dimensions).</summary>
    internal Span<T> StorageSpan<T>() where T : unmanaged
    {
        var cpu = (CpuStorage)Storage;
        return cpu.AsSpan<T>(Offset, Math.Min(int.MaxValue, cpu.Length - Offset));
    }

    /// <summary>The device storage from this view's offset to its end: a strided operand for GEMM on the GPU.</summary>
    internal ILGPU.ArrayView<T> StorageGpuView<T>() where T : unmanaged
    {
        var gpu = (GpuStorage)Storage;
        return gpu.View<T>(Offset, gpu.Length - Offset);
    }
}

/// <summary>dA = g · Bᵀ, dB = Aᵀ · g (summed over the batch when B was shared by every batch entry).</summary>
internal sealed class MatMulFunction : Function
{
    private readonly Tensor _a, _b;

    public MatMulFunction(Tensor a, Tensor b)
    {
        _a = Save(a);
        _b = Save(b);
    }

    public override string Name => "matmul";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        Tensor? ga = null, gb = null;
        if (NeedsGrad(0))
        {
            using var bt = _b.Transpose();
            using var full = Tensor.MatMul(g, bt);
            ga = full.SumToShape(_a.ShapeArray());
        }
        if (NeedsGrad(1))
        {
            if (_b.Rank == 2)
            {
                int k = _a.Size(-1), n = g.Size(-1);
                using var a2 = _a.Reshape(-1, k);
                using var g2 = g.Reshape(-1, n);
                using var a2t = a2.Transpose();
                gb = Tensor.MatMul(a2t, g2);
            }
            else
            {
                using var at = _a.Transpose();
                using var full = Tensor.MatMul(at, g);
                gb = full.SumToShape(_b.ShapeArray());
            }
        }
        return [ga, gb];
    }
}

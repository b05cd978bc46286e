using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal static partial class GpuFunctional
{
    /// <summary>
    /// <see cref="Tensor.MatMul(Tensor, Tensor)"/> on the device, with the CPU op's shape rules: a 2-D right operand
    /// shared by every batch entry folds a's batch axes into rows (one GEMM); otherwise the batch axes broadcast.
    /// bf16 operands run on the tensor-core kernel (f32 accumulation, one rounding of C); f32 on the SIMT kernel.
    /// The backward is the CPU op's <see cref="MatMulFunction"/>: its matmuls and views land here again.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        const string op = "matmul";
        var dtype = OpChecks.GpuInputs(op, a, b);
        Tensor.CheckMatMulShapes(op, a, b, out int m, out int k, out int n);

        Tensor result;
        if (b.Rank == 2)
        {
            // Fold a's batch axes into its rows: one large GEMM is faster than many small ones.
            using var a2 = a.Rank == 2 ? a.Alias() : Tensor.WithoutGrad(() => a.Reshape(-1, k));
            result = Gpu.Empty(a, [.. a.ShapeArray()[..^1], n]); // (…, M, N)
            Multiply(a2, b, result, m: a2.Size(0), n, k, batch: 1);
        }
        else
        {
            int[] batchShape = Shapes.Broadcast(op, a.ShapeArray()[..^2], b.ShapeArray()[..^2]);
            using var ab = Tensor.WithoutGrad(() => Tensor.BroadcastBatch(a, batchShape));
            using var bb = Tensor.WithoutGrad(() => Tensor.BroadcastBatch(b, batchShape));
            int batch = checked((int)Shapes.Numel(batchShape));
            result = Gpu.Empty(a, [.. batchShape, m, n]); // (batch…, M, N)
            Multiply(ab, bb, result, m, n, k, batch);
        }
        return Autograd.Record(result, new MatMulFunction(a, b), a, b);
    }

    /// <summary>
    /// C = op(A)·op(B) for each batch entry, C contiguous. A and B are read in place from their storage (row- or
    /// column-major, the kernel's transA/transB); only a layout GEMM cannot express is gathered first.
    /// </summary>
    static void Multiply(Tensor a, Tensor b, Tensor c, int m, int n, int k, int batch)
    {
        using var av = a.AsMatrixOperand(out bool transA, out int lda, out long strideA);
        using var bv = b.AsMatrixOperand(out bool transB, out int ldb, out long strideB);
        var gemm = Gpu.Kernels<GemmGpu>(c);
        var stream = Gpu.Stream(c);
        long strideC = (long)m * n;
        if (c.DType == DType.F32)
            gemm.MultiplyBatched(stream, transA, transB, m, n, k, 1f, av.StorageGpuView<float>(), lda, strideA,
                bv.StorageGpuView<float>(), ldb, strideB, 0f, Gpu.F32(c), n, strideC, batch);
        else
            gemm.MultiplyBatched(stream, transA, transB, m, n, k, 1f, av.StorageGpuView<ushort>(), lda, strideA,
                bv.StorageGpuView<ushort>(), ldb, strideB, 0f, Gpu.Bf16(c), n, strideC, batch);
    }
}

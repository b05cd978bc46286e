using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// The GPU paths of the reductions (Tensor.Reduce.cs): sums and means of rows with <see cref="ReduceGpu"/>, and the
/// backward of broadcasting with <c>BroadcastGpu.SumToShape</c>.
/// f32 accumulation in the kernels for both storage dtypes; the result has the input's dtype. Unrecorded: the Tensor
/// op records the same Function as on the CPU.
/// </summary>
internal static class GpuReduce
{
    /// <summary>
    /// result[r] = Σ or mean of row r of the contiguous (n, cols) <paramref name="rows"/>, shaped <paramref name="outShape"/>
    /// (n elements). One output element reduces the whole input in two passes; several are one group per row.
    /// </summary>
    public static Tensor Rows(Tensor rows, int[] outShape, int cols, bool mean)
    {
        if (cols == 0) return Gpu.Zeros(rows, outShape); // as on the CPU: an empty sum (and mean) is 0
        var result = Gpu.Empty(rows, outShape);
        if (result.Numel == 0) return result;
        var kernels = Gpu.Kernels<ReduceGpu>(rows);
        var stream = Gpu.Stream(rows);
        var op = mean ? ReduceOp.Mean : ReduceOp.Sum;
        bool f32 = rows.DType == DType.F32;
        if (result.Numel == 1)
        {
            if (f32) kernels.All(stream, Gpu.F32(rows), Gpu.F32(result), op);
            else kernels.All(stream, Gpu.Bf16(rows), Gpu.Bf16(result), op);
        }
        else if (f32) kernels.Rows(stream, Gpu.F32(rows), Gpu.F32(result), cols, op);
        else kernels.Rows(stream, Gpu.Bf16(rows), Gpu.Bf16(result), cols, op);
        return result;
    }

    /// <summary>g summed down to <paramref name="shape"/>, to which it was broadcast (the backward of broadcasting).</summary>
    public static Tensor SumToShape(Tensor g, int[] shape)
    {
        var dtype = OpChecks.GpuInputs("sum_to_shape", g);
        GpuElementwise.CheckRank("sum_to_shape", g.Shape, $"gradient {g.ShapeText}");
        if (g.Numel == 0) return Gpu.Zeros(g, shape);
        using var gc = g.CopyIfStrided();
        var result = Gpu.Empty(g, shape);
        int[] outShape = GpuElementwise.KernelShape(gc), targetShape = shape.Length == 0 ? [1] : shape;
        var kernels = Gpu.Kernels<BroadcastGpu>(g);
        if (dtype == DType.F32) kernels.SumToShape(Gpu.Stream(g), Gpu.F32(gc), outShape, Gpu.F32(result), targetShape);
        else kernels.SumToShape(Gpu.Stream(g), Gpu.Bf16(gc), outShape, Gpu.Bf16(result), targetShape);
        return result;
    }
}

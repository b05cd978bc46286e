using System.Numerics;
using System.Numerics.Tensors;

namespace TinyLlama.Tensors;

/// <summary>Sum and mean over axes. The reduced axes are moved last, so each output element is one contiguous row sum.</summary>
public sealed partial class Tensor
{
    /// <summary>Sum over all elements (a scalar tensor).</summary>
    public Tensor Sum() => Sum(Enumerable.Range(0, Rank).ToArray(), keepDim: false);

    /// <summary>Sum over the given axes; <paramref name="keepDim"/> keeps them with size 1.</summary>
    public Tensor Sum(int[] axes, bool keepDim = false) => Reduce("sum", axes, keepDim, mean: false);

    public Tensor Sum(int axis, bool keepDim = false) => Sum([axis], keepDim);

    public Tensor Mean() => Mean(Enumerable.Range(0, Rank).ToArray(), keepDim: false);

    public Tensor Mean(int[] axes, bool keepDim = false) => Reduce("mean", axes, keepDim, mean: true);

    public Tensor Mean(int axis, bool keepDim = false) => Mean([axis], keepDim);

    private Tensor Reduce(string op, int[] axes, bool keepDim, bool mean)
    {
        bool gpu = OpChecks.AnyOnGpu(this);
        var dtype = gpu ? OpChecks.GpuInputs(op, this) : OpChecks.ComputeInputs(op, this);
        var reduced = new bool[Rank];
        foreach (int axis in axes)
        {
            int a = Shapes.NormalizeAxis(op, axis, Rank);
            if (reduced[a]) throw new ArgumentException($"{op}: axis {a} is listed twice");
            reduced[a] = true;
        }
        var kept = Enumerable.Range(0, Rank).Where(i => !reduced[i]).ToArray();
        var gone = Enumerable.Range(0, Rank).Where(i => reduced[i]).ToArray();
        var keepShape = _shape.Select((d, i) => reduced[i] ? 1 : d).ToArray();
        var outShape = keepDim ? keepShape : kept.Select(i => _shape[i]).ToArray();
        long count = 1;
        foreach (int i in gone) count *= _shape[i];

        using var permuted = WithoutGrad(() => Permute([.. kept, .. gone]));
        using var rows = permuted.CopyIfStrided(); // on cuda: a gather kernel
        Tensor result;
        if (gpu) result = GpuReduce.Rows(rows, outShape, checked((int)count), mean);
        else
        {
            result = new Tensor(outShape, dtype, zeroed: true);
            int n = checked((int)result.Numel), cols = checked((int)count);
            if (dtype == DType.F32) RowSums<float>(rows.AsSpan<float>(), result.AsSpan<float>(), n, cols, mean);
            else RowSums<double>(rows.AsSpan<double>(), result.AsSpan<double>(), n, cols, mean);
        }
        return Autograd.Record(result, new SumFunction(op, ShapeArray(), keepShape, mean ? 1.0 / Math.Max(1, count) : 1.0), this);
    }

    private static void RowSums<T>(ReadOnlySpan<T> x, Span<T> y, int rows, int cols, bool mean)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (cols == 0) return;
        T scale = mean ? T.One / T.CreateChecked(cols) : T.One;
        for (int r = 0; r < rows; r++)
            y[r] = TensorPrimitives.Sum(x.Slice(r * cols, cols)) * scale;
    }

    /// <summary>Runs an op without recording it (internal plumbing inside a recorded op).</summary>
    internal static Tensor WithoutGrad(Func<Tensor> op)
    {
        using var _ = GradMode.NoGrad();
        return op();
    }

    /// <summary>
    /// Reads this tensor broadcast to <paramref name="shape"/> (a stride-0 view, then copied; on cuda by the gather
    /// kernel, which reads stride-0 axes): the backward of a reduction and of broadcasting.
    /// </summary>
    internal Tensor ExpandCopy(int[] shape)
    {
        var view = new Tensor(Storage, (int[])shape.Clone(), BroadcastStrides(this, shape), Offset, takeReference: true);
        try { return view.CopyContiguous(); }
        finally { view.Dispose(); }
    }

    /// <summary>Sums a broadcast gradient back down to <paramref name="shape"/> (the backward of broadcasting).</summary>
    internal Tensor SumToShape(int[] shape)
    {
        if (Shape.SequenceEqual(shape)) return Alias();
        if (OpChecks.AnyOnGpu(this)) return GpuReduce.SumToShape(this, shape);
        int lead = Rank - shape.Length;
        var axes = new List<int>();
        for (int i = 0; i < Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && _shape[i] != 1)) axes.Add(i);
        using var summed = Sum([.. axes], keepDim: true);
        return summed.Reshape(shape);
    }
}

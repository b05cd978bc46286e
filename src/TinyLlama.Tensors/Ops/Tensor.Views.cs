namespace TinyLlama.Tensors;

/// <summary>Views: new shapes and strides over the same storage, no copy. All are differentiable.</summary>
public sealed partial class Tensor
{
    /// <summary>
    /// The same elements in a new shape (one size may be −1, inferred). A view when the layout allows it
    /// (contiguous), otherwise a copy, as torch.reshape.
    /// </summary>
    public Tensor Reshape(params int[] shape)
    {
        ThrowIfDisposed("reshape");
        var newShape = InferShape(shape);
        Tensor result;
        if (IsContiguous) result = new Tensor(Storage, newShape, Shapes.ContiguousStrides(newShape), Offset, takeReference: true);
        else
        {
            using var c = CopyContiguous();
            result = new Tensor(c.Storage, newShape, Shapes.ContiguousStrides(newShape), 0, takeReference: true);
        }
        return Autograd.Record(result, new ReshapeFunction(ShapeArray()), this);
    }

    /// <summary>Like <see cref="Reshape"/> but refuses to copy: the tensor must be contiguous.</summary>
    public Tensor View(params int[] shape)
    {
        ThrowIfDisposed("view");
        if (!IsContiguous)
            throw new InvalidOperationException($"view: tensor {ShapeText} is not contiguous; use Reshape (which copies) or Contiguous() first");
        return Reshape(shape);
    }

    public Tensor Flatten() => Reshape(-1);

    /// <summary>Reorders the axes: result axis i is this tensor's axis order[i].</summary>
    public Tensor Permute(params int[] order)
    {
        ThrowIfDisposed("permute");
        order = (int[])order.Clone();
        if (order.Length != Rank)
            throw new ArgumentException($"permute: order has {order.Length} axes; tensor {ShapeText} has {Rank}");
        var seen = new bool[Rank];
        var shape = new int[Rank];
        var strides = new long[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int axis = Shapes.NormalizeAxis("permute", order[i], Rank);
            if (seen[axis]) throw new ArgumentException($"permute: axis {axis} appears twice in ({string.Join(", ", order)})");
            seen[axis] = true;
            shape[i] = _shape[axis];
            strides[i] = _strides[axis];
            order[i] = axis;
        }
        var result = new Tensor(Storage, shape, strides, Offset, takeReference: true);
        return Autograd.Record(result, new PermuteFunction((int[])order.Clone()), this);
    }

    /// <summary>Swaps two axes (a view). <c>Transpose()</c> with no arguments swaps the last two.</summary>
    public Tensor Transpose(int axis0 = -2, int axis1 = -1)
    {
        if (Rank < 2 && axis0 == -2 && axis1 == -1)
            throw new ArgumentException($"transpose: tensor {ShapeText} has fewer than 2 axes");
        int a = Shapes.NormalizeAxis("transpose", axis0, Rank), b = Shapes.NormalizeAxis("transpose", axis1, Rank);
        var order = Enumerable.Range(0, Rank).ToArray();
        (order[a], order[b]) = (order[b], order[a]);
        return Permute(order);
    }

    /// <summary>Elements [start, start + length) along one axis (a view).</summary>
    public Tensor Narrow(int axis, int start, int length)
    {
        ThrowIfDisposed("narrow");
        int ax = Shapes.NormalizeAxis("narrow", axis, Rank);
        if (start < 0 || length < 0 || start + length > _shape[ax])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow: range [{start}, {start + length}) is outside axis {ax} of size {_shape[ax]} in tensor {ShapeText}");
        var shape = ShapeArray();
        shape[ax] = length;
        var result = new Tensor(Storage, shape, (long[])_strides.Clone(), Offset + start * _strides[ax], takeReference: true);
        return Autograd.Record(result, new NarrowFunction(ShapeArray(), ax, start), this);
    }

    /// <summary>Elements [start, end) along one axis, negative indices from the end, as Python's slice (step 1).</summary>
    public Tensor Slice(int axis, int start, int end)
    {
        int ax = Shapes.NormalizeAxis("slice", axis, Rank);
        int n = _shape[ax];
        int s = Math.Clamp(start < 0 ? start + n : start, 0, n), e = Math.Clamp(end < 0 ? end + n : end, 0, n);
        return Narrow(ax, s, Math.Max(0, e - s));
    }

    /// <summary>Inserts an axis of size 1 at <paramref name="axis"/>.</summary>
    public Tensor Unsqueeze(int axis)
    {
        var shape = _shape.ToList();
        shape.Insert(Shapes.NormalizeAxis("unsqueeze", axis, Rank + 1), 1);
        return Reshape([.. shape]);
    }

    /// <summary>Removes an axis of size 1.</summary>
    public Tensor Squeeze(int axis)
    {
        int ax = Shapes.NormalizeAxis("squeeze", axis, Rank);
        if (_shape[ax] != 1) throw new ArgumentException($"squeeze: axis {ax} of tensor {ShapeText} has size {_shape[ax]}, expected 1");
        var shape = _shape.ToList();
        shape.RemoveAt(ax);
        return Reshape([.. shape]);
    }

    /// <summary>
    /// A contiguous tensor with the same values: a new Tensor object sharing storage when already contiguous
    /// (so it can always be disposed by the caller), a copy otherwise.
    /// </summary>
    public Tensor Contiguous()
    {
        ThrowIfDisposed("contiguous");
        var result = IsContiguous ? new Tensor(Storage, _shape, _strides, Offset, takeReference: true) : CopyContiguous();
        return Autograd.Record(result, new IdentityFunction("contiguous"), this);
    }

    /// <summary>A copy with its own storage (differentiable).</summary>
    public Tensor Clone()
    {
        var result = CopyContiguous();
        return Autograd.Record(result, new IdentityFunction("clone"), this);
    }

    private int[] InferShape(int[] shape)
    {
        var result = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < result.Length; i++)
        {
            if (result[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"reshape: only one size may be -1 in {Shapes.Format(shape)}");
                infer = i;
            }
            else if (result[i] < 0) throw new ArgumentException($"reshape: size {result[i]} in {Shapes.Format(shape)} is negative");
            else known *= result[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ArgumentException($"reshape: cannot infer the -1 in {Shapes.Format(shape)} for a tensor of {Numel} elements {ShapeText}");
            result[infer] = (int)(Numel / known);
        }
        if (Shapes.Numel(result) != Numel)
            throw new ArgumentException($"reshape: tensor {ShapeText} has {Numel} elements; shape {Shapes.Format(result)} holds {Shapes.Numel(result)}");
        return result;
    }
}

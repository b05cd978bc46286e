namespace TinyLlama.Tensors;

internal sealed class ReshapeFunction(int[] inputShape) : Function
{
    public override string Name => "reshape";

    protected internal override Tensor?[] Backward(Tensor gradOutput) => [gradOutput.Reshape(inputShape)];
}

internal sealed class PermuteFunction(int[] order) : Function
{
    public override string Name => "permute";

    protected internal override Tensor?[] Backward(Tensor gradOutput)
    {
        var inverse = new int[order.Length];
        for (int i = 0; i < order.Length; i++) inverse[order[i]] = i;
        return [gradOutput.Permute(inverse)];
    }
}

/// <summary>The gradient of a narrowed view is zero outside the window.</summary>
internal sealed class NarrowFunction(int[] inputShape, int axis, int start) : Function
{
    public override string Name => "narrow";

    protected internal override Tensor?[] Backward(Tensor gradOutput)
    {
        var grad = Tensor.Zeros(inputShape, gradOutput.DType);
        using var window = grad.Narrow(axis, start, gradOutput.Shape[axis]);
        Tensor.CopyElements(gradOutput, window);
        return [grad];
    }
}

/// <summary>contiguous, clone: the gradient passes through unchanged.</summary>
internal sealed class IdentityFunction(string name) : Function
{
    public override string Name => name;

    protected internal override Tensor?[] Backward(Tensor gradOutput) => [gradOutput];
}

namespace TinyLlama.Tensors;

public sealed partial class Tensor
{
    internal bool RequiresGradFlag;

    /// <summary>
    /// Whether autograd tracks this tensor. Set it on leaves (parameters, inputs you want gradients for);
    /// results of ops on such tensors require grad automatically.
    /// </summary>
    public bool RequiresGrad
    {
        get => RequiresGradFlag;
        set
        {
            if (!value && GradFn is not null)
                throw new InvalidOperationException($"RequiresGrad: tensor {ShapeText} is the result of '{GradFn.Name}'; use Detach() instead of turning grad off");
            if (value && !(DType.IsComputeType() || DType == DType.BF16))
                throw new InvalidOperationException($"RequiresGrad: tensor {ShapeText} has dtype {DType.Name()}; only f32, f64 and bf16 tensors can require grad");
            RequiresGradFlag = value;
        }
    }

    /// <summary>
    /// The accumulated gradient of a leaf after <see cref="Backward"/>; null before. It can be assigned (as PyTorch's
    /// <c>p.grad = g</c>, e.g. averaged gradients from other processes): same shape, dtype and device; the tensor then owns it.
    /// </summary>
    public Tensor? Grad
    {
        get;
        set
        {
            if (value is not null && (!value.Shape.SequenceEqual(Shape) || value.DType != DType || value.Device != Device))
                throw new ArgumentException($"Grad: a gradient of {value.ShapeText} {value.DType.Name()} on {value.Device} for tensor {ShapeText} {DType.Name()} on {Device}; expected the tensor's shape, dtype and device");
            field = value;
        }
    }

    /// <summary>The Function that produced this tensor, or null for a leaf.</summary>
    public Function? GradFn { get; internal set; }

    public bool IsLeaf => GradFn is null;

    /// <summary>Back-propagates from this tensor; see <see cref="Autograd.Backward"/>.</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Autograd.Backward(this, gradient, retainGraph);

    /// <summary>Sets the gradient to null (and frees it).</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>A view of the same data that autograd does not track.</summary>
    public Tensor Detach() => Alias();

    /// <summary>Marks this tensor as a leaf that requires grad and returns it (fluent, for parameters and tests).</summary>
    public Tensor RequireGrad()
    {
        RequiresGrad = true;
        return this;
    }
}

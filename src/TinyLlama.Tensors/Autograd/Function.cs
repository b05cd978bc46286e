namespace TinyLlama.Tensors;

/// <summary>
/// One recorded operation of the autograd tape. The forward result is computed eagerly by the op; the op then
/// records a Function that knows its inputs and, in <see cref="Backward"/>, maps the gradient of its output to
/// gradients of its inputs. Fused ops (RMSNorm, RoPE, attention, SwiGLU, cross-entropy) are single Functions
/// with hand-written backward passes.
/// </summary>
public abstract class Function
{
    private readonly List<Tensor> _saved = [];
    private bool _released;

    /// <summary>The op's name as used in error messages ("matmul", "rms_norm", ...).</summary>
    public abstract string Name { get; }

    /// <summary>The tensor inputs, in the order <see cref="Backward"/> returns their gradients.</summary>
    public IReadOnlyList<Tensor> Inputs { get; private set; } = [];

    /// <summary>
    /// The forward computation of a user-defined Function, called by <see cref="Apply"/> with autograd off.
    /// Built-in ops compute their forward inline and only record a Function; they do not override this.
    /// </summary>
    protected virtual Tensor Forward(Tensor[] inputs) =>
        throw new NotSupportedException($"'{Name}' does not implement Forward; built-in ops are called through their Tensor methods");

    /// <summary>
    /// Runs <see cref="Forward"/> on the inputs and records this Function on the result, so a new differentiable op
    /// needs only a Forward and a Backward: <c>var y = new MyOp().Apply(x);</c>. A Function instance is used once.
    /// </summary>
    public Tensor Apply(params Tensor[] inputs)
    {
        if (Inputs.Count > 0) throw new InvalidOperationException($"'{Name}': a Function instance records one call; create a new one per call");
        Tensor result;
        using (GradMode.NoGrad()) result = Forward(inputs);
        return Autograd.Record(result, this, inputs);
    }

    /// <summary>
    /// Gradients of the inputs given the gradient of the output (same order as <see cref="Inputs"/>; null where an
    /// input needs none). Runs with autograd off. Return fresh tensors or views: never a saved or input Tensor object itself.
    /// </summary>
    protected internal abstract Tensor?[] Backward(Tensor gradOutput);

    /// <summary>Whether input i takes part in autograd (lets Backward skip work).</summary>
    protected bool NeedsGrad(int i) => Inputs[i].RequiresGrad;

    /// <summary>Keeps a tensor alive for backward, even if the caller disposes theirs.</summary>
    protected Tensor Save(Tensor t)
    {
        var alias = t.Alias();
        TensorScope.Untrack(alias);
        _saved.Add(alias);
        return alias;
    }

    internal void Attach(Tensor[] inputs) => Inputs = inputs;

    internal void ThrowIfReleased()
    {
        if (_released)
            throw new InvalidOperationException($"backward: the graph through '{Name}' was already freed by an earlier Backward(); call Backward(retainGraph: true) to go through it twice");
    }

    internal void ReleaseSaved()
    {
        _released = true;
        foreach (var t in _saved) t.Dispose();
        _saved.Clear();
    }
}

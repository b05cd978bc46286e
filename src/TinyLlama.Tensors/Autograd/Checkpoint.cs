namespace TinyLlama.Tensors;

public static partial class Functional
{
    /// <summary>
    /// Activation (gradient) checkpointing: returns <c>block(x)</c>, but keeps only <paramref name="x"/> for
    /// backward instead of every activation the block's ops would save. Backward runs the block again on x, with
    /// autograd on, and back-propagates through that recomputed graph: gradients accumulate into the .Grad of the
    /// block's parameters as usual (their post-accumulate-grad hooks run when that inner pass is done with them) and
    /// x's gradient flows on. The trade: activation memory of one block at a time instead of all of them, for one
    /// more forward of the block in backward.
    /// <para>The block must compute the same thing both times: a function of x and of leaf tensors (parameters,
    /// constants) only, with no randomness of its own and no side effects. A tensor it captures that requires grad
    /// must be a leaf; one produced by ops outside the block would be back-propagated through (and freed) by the
    /// inner pass. A parameter used both inside a checkpointed block and elsewhere gets its gradient, and its hook
    /// call, once from each pass that reaches it.</para>
    /// <para>Under <see cref="GradMode.NoGrad"/> this is just <c>block(x)</c>. When x does not require grad, the
    /// parameters still get their gradients (x gets none).</para>
    /// </summary>
    public static Tensor Checkpoint(Func<Tensor, Tensor> block, Tensor x)
    {
        const string op = "checkpoint";
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(x);
        x.ThrowIfDisposed(op);
        if (!GradMode.IsEnabled) return block(x);

        Tensor y;
        bool requiresGrad;
        // The block's intermediates live in this scope and are freed when it returns; only its output is kept.
        // Ops save their tensors for backward even with autograd off (the Function is built before recording is
        // decided), which would keep the activations alive until the GC; so the block runs recorded instead, on a
        // leaf standing in for x, and the graph it built is freed at once. With x not requiring grad, recording
        // is also what shows whether the block's parameters make the result require grad.
        using (var scope = new TensorScope())
        {
            var input = x;
            if (x.RequiresGrad)
            {
                input = x.Detach();
                input.RequiresGrad = true;
            }
            var output = block(input);
            if (output is null) throw new InvalidOperationException($"{op}: the block returned null; expected a tensor");
            requiresGrad = x.RequiresGrad || output.RequiresGrad;
            CheckpointFunction.FreeGraph(output);
            // A Tensor object of its own: the block may return its input itself, or a tensor the caller owns.
            y = scope.Keep(output.Detach());
        }
        if (!requiresGrad) return y;

        var fn = new CheckpointFunction(block, x, y);
        fn.Attach([x]);
        y.GradFn = fn;
        y.RequiresGradFlag = true;
        return y;
    }
}

/// <summary>
/// The recorded step of <see cref="Functional.Checkpoint"/>: saves x (one alias, no activations) and, in backward,
/// recomputes the block on a fresh leaf copy of x with autograd on and runs a nested backward pass through it.
/// </summary>
internal sealed class CheckpointFunction : Function
{
    private readonly Func<Tensor, Tensor> _block;
    private readonly Tensor _x;
    private readonly int[] _outShape;
    private readonly DType _outDType;

    public CheckpointFunction(Func<Tensor, Tensor> block, Tensor x, Tensor output)
    {
        _block = block;
        _x = Save(x);
        _outShape = output.ShapeArray();
        _outDType = output.DType;
    }

    public override string Name => "checkpoint";

    protected internal override Tensor?[] Backward(Tensor gradOutput)
    {
        // Backward runs with autograd off; the recomputation has to record. Everything it creates, the recomputed
        // graph included, is freed by the scope; the gradients that must outlive it (parameters' .Grad, dx) are
        // untracked by the engine when it creates them.
        using var grad = GradMode.EnableGrad();
        using var scope = new TensorScope();
        var leaf = _x.Detach();
        if (NeedsGrad(0)) leaf.RequiresGrad = true;
        var y = _block(leaf);
        if (y is null || !y.Shape.SequenceEqual(_outShape) || y.DType != _outDType)
            throw new InvalidOperationException(
                $"checkpoint: the block recomputed in backward returned {(y is null ? "null" : $"{y.ShapeText} {y.DType.Name()}")}; " +
                $"the forward returned {Shapes.Format(_outShape)} {_outDType.Name()}. The block must compute the same thing both times");
        if (!y.RequiresGrad)
            throw new InvalidOperationException(
                "checkpoint: the block recomputed in backward does not require grad, but it did in the forward (a parameter's RequiresGrad changed in between?)");
        Autograd.Backward(y, gradOutput);
        // Take dx from the leaf, or disposing the leaf with the scope would free it.
        var dx = leaf.Grad;
        leaf.Grad = null;
        return [dx];
    }

    /// <summary>Frees the saved tensors of every Function that produced <paramref name="output"/>.</summary>
    internal static void FreeGraph(Tensor output)
    {
        if (output.GradFn is null) return;
        var visited = new HashSet<Function>(ReferenceEqualityComparer.Instance) { output.GradFn };
        var stack = new Stack<Function>(visited);
        while (stack.Count > 0)
        {
            var fn = stack.Pop();
            fn.ReleaseSaved();
            foreach (var input in fn.Inputs)
                if (input.GradFn is { } child && visited.Add(child)) stack.Push(child);
        }
    }
}

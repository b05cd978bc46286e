namespace TinyLlama.Tensors;

/// <summary>The reverse-mode engine: records Functions on results and walks them backwards from a loss.</summary>
public static class Autograd
{
    /// <summary>Shorthand for <see cref="GradMode.NoGrad"/>.</summary>
    public static IDisposable NoGrad() => GradMode.NoGrad();

    /// <summary>
    /// Called by every differentiable op after computing <paramref name="result"/>: when autograd is on and an input
    /// requires grad, the result requires grad too and remembers <paramref name="function"/>.
    /// </summary>
    internal static Tensor Record(Tensor result, Function function, params Tensor[] inputs)
    {
        bool any = false;
        if (GradMode.IsEnabled)
            foreach (var t in inputs) any |= t.RequiresGrad;
        if (!any)
        {
            // Not recorded: give back what the Function saved for a backward that will never run now, not when the
            // GC finalizes it (on a GPU that would hold device memory for the whole step).
            function.ReleaseSaved();
            return result;
        }
        function.Attach(inputs);
        result.GradFn = function;
        result.RequiresGradFlag = true;
        return result;
    }

    /// <summary>
    /// Accumulates d(root)/d(leaf) into the .Grad of every leaf that requires grad. <paramref name="gradient"/>
    /// defaults to 1 for a one-element root.
    /// </summary>
    public static void Backward(Tensor root, Tensor? gradient = null, bool retainGraph = false)
    {
        root.ThrowIfDisposed("backward");
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"backward: tensor {root.ShapeText} does not require grad (no input of the computation had RequiresGrad set)");
        if (gradient is null && root.Numel != 1)
            throw new InvalidOperationException($"backward: the output has shape {root.ShapeText}; backward without a gradient needs a one-element (scalar) output. Pass a gradient of shape {root.ShapeText}");
        if (gradient is not null && !gradient.Shape.SequenceEqual(root.Shape))
            throw new ArgumentException($"backward: gradient has shape {gradient.ShapeText}; expected the output's shape {root.ShapeText}");
        if (gradient is not null && gradient.DType != root.DType)
            throw new ArgumentException($"backward: gradient has dtype {gradient.DType.Name()}; expected the output's dtype {root.DType.Name()}");
        if (gradient is not null && gradient.Device != root.Device)
            throw new ArgumentException($"backward: gradient lives on {gradient.Device}; expected the output's device {root.Device} (move it with To(device))");

        using var noGrad = GradMode.NoGrad();
        // The seed is made where the root lives: every backward runs on the device of the forward.
        var seed = gradient is null ? Tensor.Full(root.ShapeArray(), 1.0, root.DType, root.Device) : gradient.Clone();
        TensorScope.Untrack(seed);
        if (root.GradFn is null)
        {
            AccumulateLeaf(root, seed);
            seed.Dispose();
            root.RunPostAccumulateGradHooks();
            return;
        }

        var order = TopologicalOrder(root.GradFn);
        var completion = LeafCompletion.For(order);
        var pending = new Dictionary<Function, Tensor>(ReferenceEqualityComparer.Instance) { [root.GradFn] = seed };
        try
        {
            foreach (var fn in order)
            {
                if (!pending.Remove(fn, out var gradOut))
                {
                    completion?.Passed(fn); // nothing flowed here, so nothing will flow from here either
                    continue;
                }
                fn.ThrowIfReleased();
                var gradIns = fn.Backward(gradOut);
                var handedOn = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                for (int i = 0; i < fn.Inputs.Count; i++)
                {
                    var input = fn.Inputs[i];
                    var g = gradIns[i];
                    if (g is null || !input.RequiresGrad) continue;
                    CheckGradient(fn, i, input, g);
                    if (input.GradFn is null)
                    {
                        AccumulateLeaf(input, g);
                        completion?.Received(input);
                    }
                    else if (pending.TryGetValue(input.GradFn, out var existing))
                        existing.AddInPlace(g);
                    else
                    {
                        var owned = OwnExclusively(g, handedOn);
                        pending[input.GradFn] = owned;
                        handedOn.Add(owned);
                    }
                }
                // Free what this node produced and nobody took over.
                foreach (var g in gradIns)
                    if (g is not null && !handedOn.Contains(g)) g.Dispose();
                if (!handedOn.Contains(gradOut)) gradOut.Dispose();
                if (!retainGraph) fn.ReleaseSaved();
                completion?.Passed(fn);
            }
        }
        finally
        {
            foreach (var g in pending.Values) g.Dispose();
        }
    }

    /// <summary>Functions reachable from <paramref name="root"/>, each after every Function that consumes its output.</summary>
    private static List<Function> TopologicalOrder(Function root)
    {
        var postOrder = new List<Function>();
        var visited = new HashSet<Function>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Function fn, int next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (fn, next) = stack.Pop();
            if (next < fn.Inputs.Count)
            {
                stack.Push((fn, next + 1));
                var child = fn.Inputs[next].GradFn;
                if (child is not null && fn.Inputs[next].RequiresGrad && visited.Add(child)) stack.Push((child, 0));
            }
            else postOrder.Add(fn);
        }
        postOrder.Reverse();
        return postOrder;
    }

    private static void CheckGradient(Function fn, int i, Tensor input, Tensor g)
    {
        if (!g.Shape.SequenceEqual(input.Shape) || g.DType != input.DType || g.Device != input.Device)
            throw new InvalidOperationException(
                $"backward of '{fn.Name}': gradient {i} has shape {g.ShapeText} {g.DType.Name()} on {g.Device}, expected {input.ShapeText} {input.DType.Name()} on {input.Device} (a bug in the op's Backward)");
    }

    /// <summary>Leaf gradients accumulate (+=), so gradient accumulation over micro-batches needs no extra code.</summary>
    private static void AccumulateLeaf(Tensor leaf, Tensor g)
    {
        if (leaf.Grad is null)
        {
            var grad = g.Clone();
            TensorScope.Untrack(grad);
            leaf.Grad = grad;
        }
        else leaf.Grad.AddInPlace(g);
    }

    /// <summary>
    /// Pending gradients are accumulated in place, so each must own its storage alone: a view of another tensor's
    /// storage (or a tensor already handed to another input) is copied first.
    /// </summary>
    private static Tensor OwnExclusively(Tensor g, HashSet<Tensor> handedOn)
    {
        if (!handedOn.Contains(g) && g.Storage.RefCount == 1 && g.IsContiguous && g.Offset == 0) return g;
        var copy = g.Clone();
        TensorScope.Untrack(copy);
        return copy;
    }
}

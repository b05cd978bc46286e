namespace TinyLlama.Tensors;

public sealed partial class Tensor
{
    // Null on almost every tensor: the engine's scan for hooked leaves is one field read per graph edge.
    internal List<Action<Tensor>>? PostAccumulateGradHooks;

    /// <summary>
    /// Calls <paramref name="hook"/> (with this leaf) during a backward pass once this leaf's <see cref="Grad"/> is
    /// final for that pass: it received a gradient and no node left in the pass will add to it (as PyTorch's
    /// <c>register_post_accumulate_grad_hook</c>). A leaf that no gradient reaches is not called. Data-parallel
    /// training uses it to start reducing gradients while the rest of backward runs. Runs on the thread of the
    /// backward pass; an exception from the hook ends that pass. Dispose the returned handle to remove the hook.
    /// </summary>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf)
            throw new InvalidOperationException($"RegisterPostAccumulateGradHook: tensor {ShapeText} is the result of '{GradFn!.Name}'; only leaves accumulate gradients");
        if (!RequiresGrad)
            throw new InvalidOperationException($"RegisterPostAccumulateGradHook: tensor {ShapeText} does not require grad, so it never gets one");
        (PostAccumulateGradHooks ??= []).Add(hook);
        return new HookHandle(this, hook);
    }

    internal void RunPostAccumulateGradHooks()
    {
        if (PostAccumulateGradHooks is not { } hooks) return;
        // A copy: a hook may remove itself.
        foreach (var hook in hooks.ToArray()) hook(this);
    }

    private sealed class HookHandle(Tensor owner, Action<Tensor> hook) : IDisposable
    {
        private bool _removed;

        public void Dispose()
        {
            if (_removed) return;
            _removed = true;
            if (owner.PostAccumulateGradHooks is { } hooks && hooks.Remove(hook) && hooks.Count == 0)
                owner.PostAccumulateGradHooks = null;
        }
    }
}

namespace TinyLlama.Tensors;

/// <summary>
/// Tells, during one backward pass, when a hooked leaf's gradient is final. Every edge from a node of the
/// topological order to the leaf is a possible contribution; once the walk has passed the last such node (whether
/// it ran, was skipped because nothing flowed to it, or returned no gradient for the leaf), nothing more can arrive.
/// Built only when some leaf of the graph has a hook, so an unhooked backward pays one scan of the edges.
/// </summary>
internal sealed class LeafCompletion
{
    private readonly Dictionary<Tensor, (int Remaining, bool Received)> _leaves;

    private LeafCompletion(Dictionary<Tensor, (int, bool)> leaves) => _leaves = leaves;

    public static LeafCompletion? For(List<Function> order)
    {
        Dictionary<Tensor, (int, bool)>? leaves = null;
        foreach (var fn in order)
            foreach (var input in fn.Inputs)
            {
                if (input.GradFn is not null || input.PostAccumulateGradHooks is null || !input.RequiresGrad) continue;
                leaves ??= new Dictionary<Tensor, (int, bool)>(ReferenceEqualityComparer.Instance);
                leaves[input] = leaves.TryGetValue(input, out var s) ? (s.Item1 + 1, false) : (1, false);
            }
        return leaves is null ? null : new LeafCompletion(leaves);
    }

    /// <summary>A gradient was added to <paramref name="leaf"/>'s .Grad.</summary>
    public void Received(Tensor leaf)
    {
        if (_leaves.TryGetValue(leaf, out var s)) _leaves[leaf] = (s.Remaining, true);
    }

    /// <summary>The walk is done with <paramref name="fn"/>: its edges to leaves will never contribute again.</summary>
    public void Passed(Function fn)
    {
        foreach (var input in fn.Inputs)
        {
            if (!_leaves.TryGetValue(input, out var s)) continue;
            _leaves[input] = (s.Remaining - 1, s.Received);
            if (s.Remaining == 1 && s.Received) input.RunPostAccumulateGradHooks();
        }
    }
}

namespace TinyLlama.Tensors;

/// <summary>
/// Disposes, at the end of a <c>using</c> block, every tensor created inside it on this thread, except those
/// passed to <see cref="Keep"/>. A training step runs in one scope, so activations and gradients of intermediate
/// results are freed at once instead of waiting for the GC. Scopes nest.
/// <code>
/// using (var scope = new TensorScope()) { var loss = model.Loss(x, y); loss.Backward(); }
/// </code>
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? s_current;

    private readonly TensorScope? _outer;
    private readonly List<Tensor> _tensors = [];
    private readonly HashSet<Tensor> _kept = new(ReferenceEqualityComparer.Instance);
    private bool _disposed;

    public TensorScope()
    {
        _outer = s_current;
        s_current = this;
    }

    /// <summary>How many tensors this scope will dispose.</summary>
    public int Count => _tensors.Count - _kept.Count;

    internal static void Track(Tensor tensor) => s_current?._tensors.Add(tensor);

    /// <summary>Excludes the tensor from this scope and hands it to the enclosing scope, if any.</summary>
    public Tensor Keep(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (_kept.Add(tensor)) _outer?._tensors.Add(tensor);
        return tensor;
    }

    /// <summary>Removes a tensor from whatever scope is current on this thread (it then lives until disposed by hand).</summary>
    public static void Untrack(Tensor tensor)
    {
        for (var scope = s_current; scope is not null; scope = scope._outer)
            scope._kept.Add(tensor);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!ReferenceEquals(s_current, this))
            throw new InvalidOperationException("TensorScope: scopes must be disposed in the reverse order of creation, on the thread that created them");
        s_current = _outer;
        foreach (var t in _tensors)
            if (!_kept.Contains(t)) t.Dispose();
    }
}

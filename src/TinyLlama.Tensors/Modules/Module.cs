namespace TinyLlama.Tensors.Modules;

/// <summary>
/// A layer or model: it owns named parameters (leaf tensors that require grad) and named child modules, in the
/// order they were registered, so state-dict names come out as "layers.0.attn.q_proj.weight".
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Tensor Tensor)> _parameters = [];
    private readonly List<(string Name, Module Module)> _children = [];

    /// <summary>Training or evaluation mode (for layers that behave differently; none of the Llama ones do).</summary>
    public bool IsTraining { get; private set; } = true;

    protected Tensor RegisterParameter(string name, Tensor tensor)
    {
        CheckName(name);
        TensorScope.Untrack(tensor);
        tensor.RequiresGrad = true;
        tensor.Name ??= name;
        _parameters.Add((name, tensor));
        return tensor;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _children.Add((name, module));
        return module;
    }

    /// <summary>All parameters with their dotted names, this module's first, then each child's in order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var (name, p) in _parameters) yield return (name, p);
        foreach (var (prefix, child) in _children)
            foreach (var (name, p) in child.NamedParameters())
                yield return ($"{prefix}.{name}", p);
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    public long ParameterCount() => Parameters().Sum(p => p.Numel);

    /// <summary>Name → parameter (the live tensors, not copies).</summary>
    public Dictionary<string, Tensor> StateDict() => NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);

    /// <summary>
    /// Copies values into the parameters. Every parameter must be present with the same shape; with strict, no
    /// unknown names are allowed either. Values of another floating dtype are converted.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"load_state_dict: missing {missing.Count} parameter(s): {string.Join(", ", missing.Take(5))}");
        if (strict)
        {
            var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
            if (unexpected.Count > 0)
                throw new ArgumentException($"load_state_dict: unexpected parameter(s): {string.Join(", ", unexpected.Take(5))}");
        }
        foreach (var (name, p) in own)
        {
            var src = state[name];
            if (!src.Shape.SequenceEqual(p.Shape))
                throw new ArgumentException($"load_state_dict: '{name}' has shape {src.ShapeText}; the model expects {p.ShapeText}");
        }
        using var noGrad = GradMode.NoGrad();
        foreach (var (name, p) in own)
        {
            using var converted = state[name].To(p.DType);
            Tensor.CopyElements(converted, p);
        }
    }

    /// <summary>
    /// Moves every parameter to <paramref name="device"/> in place (the parameter Tensor objects stay the same, so
    /// references to them stay valid). Modules that own other buffers (tables, caches) override and call base.
    /// </summary>
    public virtual void To(Device device)
    {
        foreach (var p in Parameters()) p.MoveTo(device);
    }

    /// <summary>The device of the parameters (cpu for a module without any).</summary>
    public Device Device => Parameters().FirstOrDefault()?.Device ?? Device.Cpu;

    public void Train(bool training = true)
    {
        IsTraining = training;
        foreach (var (_, child) in _children) child.Train(training);
    }

    public void Eval() => Train(false);

    /// <summary>Frees every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>Frees every parameter; a module that owns other buffers (tables, caches) overrides and calls base.</summary>
    public virtual void Dispose()
    {
        foreach (var p in Parameters()) p.Dispose();
        GC.SuppressFinalize(this);
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"module: name '{name}' must be non-empty and contain no '.'");
        if (_parameters.Any(p => p.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"module: '{name}' is registered twice in {GetType().Name}");
    }
}

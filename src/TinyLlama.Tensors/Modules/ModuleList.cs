namespace TinyLlama.Tensors.Modules;

/// <summary>An indexed list of child modules, named "0", "1", … in state dicts (as PyTorch's nn.ModuleList).</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    private readonly List<T> _items = [];

    public ModuleList(IEnumerable<T> items)
    {
        foreach (var item in items) Add(item);
    }

    public int Count => _items.Count;

    public T this[int index] => _items[index];

    public IReadOnlyList<T> Items => _items;

    private void Add(T item)
    {
        RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), item);
        _items.Add(item);
    }
}

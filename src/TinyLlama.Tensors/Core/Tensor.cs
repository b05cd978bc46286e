using System.Runtime.CompilerServices;
using System.Text;

namespace TinyLlama.Tensors;

/// <summary>
/// An n-dimensional array: a view (shape, strides in elements, offset) into a reference-counted
/// <see cref="TensorStorage"/>. Views made by Reshape, Transpose, Permute, Narrow share the storage;
/// each Tensor object holds one reference and gives it back on <see cref="Dispose"/>.
/// A tensor that requires grad takes part in autograd: ops on it record a <see cref="Function"/> in <see cref="GradFn"/>.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private readonly int[] _shape;
    private readonly long[] _strides;
    private TensorStorage? _storage;

    internal Tensor(TensorStorage storage, int[] shape, long[] strides, long offset, bool takeReference)
    {
        if (takeReference) storage.AddRef();
        _storage = storage;
        DType = storage.DType;
        Device = storage.Device;
        _shape = shape;
        _strides = strides;
        Offset = offset;
        TensorScope.Track(this);
    }

    /// <summary>A new contiguous tensor of zeros (or of garbage when <paramref name="zeroed"/> is false).</summary>
    internal Tensor(int[] shape, DType dtype, bool zeroed = true)
        : this(new CpuStorage(dtype, CheckedNumel(shape), zeroed), shape, Shapes.ContiguousStrides(shape), 0, takeReference: false)
    {
    }

    public ReadOnlySpan<int> Shape => _shape;

    public ReadOnlySpan<long> Strides => _strides;

    public long Offset { get; }

    public int Rank => _shape.Length;

    public long Numel => Shapes.Numel(_shape);

    /// <summary>The element type (still readable after Dispose, like the shape).</summary>
    public DType DType { get; }

    public Device Device { get; private set; }

    public TensorStorage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor), $"tensor {ShapeText} was used after Dispose()");

    public bool IsDisposed => _storage is null;

    /// <summary>Optional name, shown in messages (parameters get their state-dict name).</summary>
    public string? Name { get; set; }

    public string ShapeText => Shapes.Format(_shape);

    /// <summary>Size of one axis; negative axes count from the end.</summary>
    public int Size(int axis) => _shape[Shapes.NormalizeAxis("Size", axis, Rank)];

    public int[] ShapeArray() => (int[])_shape.Clone();

    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (int i = Rank - 1; i >= 0; i--)
            {
                if (_shape[i] != 1 && _strides[i] != expected) return false;
                expected *= _shape[i];
            }
            return true;
        }
    }

    /// <summary>
    /// The elements of a contiguous CPU tensor, in row-major order, without copying. Every CPU kernel reads its
    /// tensors through here, so this is where a cuda tensor handed to a CPU op is caught; <paramref name="op"/> names
    /// the caller in that error.
    /// </summary>
    public Span<T> AsSpan<T>([CallerMemberName] string op = "AsSpan") where T : unmanaged
    {
        var storage = Storage;
        if (DTypeExtensions.Of<T>() != storage.DType)
            throw new InvalidOperationException($"AsSpan<{typeof(T).Name}>: tensor {ShapeText} has dtype {DType.Name()}");
        if (!IsContiguous)
            throw new InvalidOperationException($"AsSpan: tensor {ShapeText} with strides ({string.Join(", ", _strides)}) is not contiguous; call Contiguous() first");
        if (storage is not CpuStorage cpu) throw CpuOnly(op, this);
        return cpu.AsSpan<T>(Offset, Numel);
    }

    /// <summary>A row-major copy of the elements, T matching the dtype (float for f32, ushort for bf16, ...); a cuda tensor is copied to the host.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        using var c = Device.Kind == DeviceKind.Cpu ? Contiguous() : To(Device.Cpu);
        return c.AsSpan<T>().ToArray();
    }

    /// <summary>The elements widened to double, for any floating dtype or i32 (tests and printing); a cuda tensor is copied to the host.</summary>
    public double[] ToDoubleArray()
    {
        using var c = Device.Kind == DeviceKind.Cpu ? Contiguous() : To(Device.Cpu);
        return c.DType switch
        {
            DType.F32 => Array.ConvertAll(c.AsSpan<float>().ToArray(), v => (double)v),
            DType.F64 => c.AsSpan<double>().ToArray(),
            DType.I32 => Array.ConvertAll(c.AsSpan<int>().ToArray(), v => (double)v),
            DType.F16 => Array.ConvertAll(c.AsSpan<Half>().ToArray(), v => (double)v),
            DType.BF16 => Array.ConvertAll(c.AsSpan<ushort>().ToArray(), v => (double)Kernels.BFloat16.ToFloat(v)),
            _ => throw new NotSupportedException($"ToDoubleArray: dtype {DType.Name()}"),
        };
    }

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        if (Numel != 1)
            throw new InvalidOperationException($"Item: tensor {ShapeText} has {Numel} elements; expected exactly 1");
        return ToDoubleArray()[0];
    }

    /// <summary>A second Tensor object over the same storage and view (one more reference).</summary>
    public Tensor Alias() => new(Storage, _shape, _strides, Offset, takeReference: true) { Name = Name };

    internal void ThrowIfDisposed(string op)
    {
        if (_storage is null)
            throw new ObjectDisposedException(nameof(Tensor), $"{op}: tensor {ShapeText}{(Name is null ? "" : $" '{Name}'")} was used after Dispose()");
    }

    public void Dispose()
    {
        var storage = Interlocked.Exchange(ref _storage, null);
        storage?.Release();
        // A parameter's gradient belongs to it.
        Grad?.Dispose();
        Grad = null;
    }

    public override string ToString()
    {
        if (_storage is null) return $"Tensor(shape={ShapeText}, disposed)";
        var sb = new StringBuilder();
        sb.Append("Tensor(shape=").Append(ShapeText).Append(", dtype=").Append(DType.Name()).Append(", device=").Append(Device);
        if (RequiresGrad) sb.Append(", requires_grad");
        if (Numel <= 16 && Device.Kind == DeviceKind.Cpu)
            sb.Append(", [").Append(string.Join(", ", ToDoubleArray().Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)))).Append(']');
        return sb.Append(')').ToString();
    }

    private static long CheckedNumel(int[] shape)
    {
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"shape {Shapes.Format(shape)} has a negative size");
        return Shapes.Numel(shape);
    }
}

namespace TinyLlama.Tensors;

public sealed partial class Tensor
{
    public static Tensor Zeros(int[] shape, DType dtype = DType.F32) => new(CheckShape("Zeros", shape), dtype);

    /// <summary>A tensor whose contents are not initialised; for outputs that an op overwrites completely.</summary>
    public static Tensor Empty(int[] shape, DType dtype = DType.F32) => new(CheckShape("Empty", shape), dtype, zeroed: false);

    public static Tensor Ones(int[] shape, DType dtype = DType.F32) => Full(shape, 1.0, dtype);

    public static Tensor Full(int[] shape, double value, DType dtype = DType.F32)
    {
        var t = Empty(shape, dtype);
        t.Fill(value);
        return t;
    }

    /// <summary>A tensor of ones on <paramref name="device"/>.</summary>
    public static Tensor Ones(int[] shape, DType dtype, Device device) => Full(shape, 1.0, dtype, device);

    /// <summary>A tensor on <paramref name="device"/> with every element <paramref name="value"/> (rounded to the dtype).</summary>
    public static Tensor Full(int[] shape, double value, DType dtype, Device device)
    {
        if (device.Kind == DeviceKind.Cpu) return Full(shape, value, dtype);
        var t = Empty(shape, dtype, device);
        t.Fill(value);
        return t;
    }

    /// <summary>A zero-dimensional (scalar) tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.F32) => Full([], value, dtype);

    /// <summary>A zero-dimensional (scalar) tensor on <paramref name="device"/>.</summary>
    public static Tensor Scalar(double value, DType dtype, Device device) => Full([], value, dtype, device);

    /// <summary>Zeros of t's shape and dtype, on t's device.</summary>
    public static Tensor ZerosLike(Tensor t) => Zeros(t.ShapeArray(), t.DType, t.Device);

    /// <summary>Copies <paramref name="data"/> (row-major) into a new tensor; the dtype follows T (float → f32, ushort → bf16, ...).</summary>
    public static Tensor FromArray<T>(T[] data, params int[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        if (shape.Length == 0 && data.Length != 1) shape = [data.Length];
        CheckShape("FromArray", shape);
        if (Shapes.Numel(shape) != data.Length)
            throw new ArgumentException($"FromArray: {data.Length} values do not fill shape {Shapes.Format(shape)} ({Shapes.Numel(shape)} elements)");
        var t = new Tensor(shape, DTypeExtensions.Of<T>(), zeroed: false);
        data.CopyTo(t.AsSpan<T>());
        return t;
    }

    /// <summary>0, 1, ..., n−1.</summary>
    public static Tensor Arange(int n, DType dtype = DType.F32)
    {
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = i;
        return FromDoubles(values, [n], dtype);
    }

    /// <summary>Normal(mean, std) samples from a seeded generator (Box–Muller in double, then rounded).</summary>
    public static Tensor Randn(int[] shape, Random rng, double std = 1.0, double mean = 0.0, DType dtype = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var values = new double[Shapes.Numel(CheckShape("Randn", shape))];
        for (int i = 0; i < values.Length; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            values[i] = mean + std * r * Math.Cos(2 * Math.PI * u2);
            if (i + 1 < values.Length) values[i + 1] = mean + std * r * Math.Sin(2 * Math.PI * u2);
        }
        return FromDoubles(values, shape, dtype);
    }

    /// <summary>Uniform [low, high) samples from a seeded generator.</summary>
    public static Tensor Rand(int[] shape, Random rng, double low = 0.0, double high = 1.0, DType dtype = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var values = new double[Shapes.Numel(CheckShape("Rand", shape))];
        for (int i = 0; i < values.Length; i++) values[i] = low + (high - low) * rng.NextDouble();
        return FromDoubles(values, shape, dtype);
    }

    /// <summary>Builds a tensor of any dtype from double values, rounding as the dtype requires.</summary>
    public static Tensor FromDoubles(double[] values, int[] shape, DType dtype = DType.F32)
    {
        CheckShape("FromDoubles", shape);
        if (Shapes.Numel(shape) != values.Length)
            throw new ArgumentException($"FromDoubles: {values.Length} values do not fill shape {Shapes.Format(shape)}");
        var t = new Tensor(shape, dtype, zeroed: false);
        switch (dtype)
        {
            case DType.F32: { var s = t.AsSpan<float>(); for (int i = 0; i < s.Length; i++) s[i] = (float)values[i]; break; }
            case DType.F64: values.CopyTo(t.AsSpan<double>()); break;
            case DType.F16: { var s = t.AsSpan<Half>(); for (int i = 0; i < s.Length; i++) s[i] = (Half)values[i]; break; }
            case DType.BF16: { var s = t.AsSpan<ushort>(); for (int i = 0; i < s.Length; i++) s[i] = Kernels.BFloat16.FromFloat((float)values[i]); break; }
            case DType.I32: { var s = t.AsSpan<int>(); for (int i = 0; i < s.Length; i++) s[i] = checked((int)values[i]); break; }
        }
        return t;
    }

    /// <summary>Sets every element of a contiguous tensor to <paramref name="value"/> (in place, not recorded by autograd).</summary>
    public void Fill(double value)
    {
        ThrowIfDisposed("Fill");
        if (!IsContiguous) throw new InvalidOperationException($"Fill: tensor {ShapeText} is not contiguous");
        if (Device.Kind == DeviceKind.Cuda)
        {
            FillOnGpu(value);
            return;
        }
        switch (DType)
        {
            case DType.F32: AsSpan<float>().Fill((float)value); break;
            case DType.F64: AsSpan<double>().Fill(value); break;
            case DType.F16: AsSpan<Half>().Fill((Half)value); break;
            case DType.BF16: AsSpan<ushort>().Fill(Kernels.BFloat16.FromFloat((float)value)); break;
            case DType.I32: AsSpan<int>().Fill(checked((int)value)); break;
        }
    }

    private static int[] CheckShape(string op, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"{op}: shape {Shapes.Format(shape)} has a negative size");
        return (int[])shape.Clone();
    }
}

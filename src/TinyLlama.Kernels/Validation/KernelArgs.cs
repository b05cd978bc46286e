namespace TinyLlama.Kernels;

/// <summary>
/// Argument checks shared by the CPU kernels. Messages name the op, the buffer and the rule, e.g.
/// "RmsNorm.Forward: x has 10 elements, expected rows·cols = 12"; upstream code and tests rely on that form.
/// </summary>
internal static class KernelArgs
{
    public static void Length(string op, string name, int actual, long expected, string rule) =>
        Length(op, name, (long)actual, expected, rule);

    /// <summary>The same check for GPU views, whose lengths are 64-bit.</summary>
    public static void Length(string op, string name, long actual, long expected, string rule)
    {
        if (actual != expected)
            throw new ArgumentException($"{op}: {name} has {actual} elements, expected {rule} = {expected}", name);
    }

    public static void AtLeast(string op, string name, int actual, long expected, string rule)
    {
        if (actual < expected)
            throw new ArgumentException($"{op}: {name} has {actual} elements, expected at least {rule} = {expected}", name);
    }

    public static void NonNegative(string op, string name, long value)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(name, value, $"{op}: {name} must be >= 0, got {value}");
    }

    public static void Positive(string op, string name, long value)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{op}: {name} must be > 0, got {value}");
    }
}

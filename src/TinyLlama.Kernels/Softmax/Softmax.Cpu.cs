using System.Numerics;
using System.Numerics.Tensors;

namespace TinyLlama.Kernels;

/// <summary>
/// Softmax over the last axis, max-subtracted: y = exp(x - max) / Σ exp(x - max). x, y: (rows, cols).
/// Backward: dx = y ⊙ (dy − Σ(dy ⊙ y)).
/// </summary>
public static partial class Softmax
{
    /// <summary>Exponentials are taken in blocks of this many elements through an L1-resident stack buffer.</summary>
    internal const int Block = 1024;

    public static unsafe void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Softmax.Forward", "x", x.Length, "y", y.Length, rows, cols);
        fixed (T* px = x, py = y)
        {
            T* xs = px, ys = py;
            CpuParallel.For(rows, 8L * cols, (start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    long o = (long)r * cols;
                    ForwardRow(new ReadOnlySpan<T>(xs + o, cols), new Span<T>(ys + o, cols));
                }
            });
        }
    }

    /// <summary>dx = y ⊙ (dy − Σ(dy ⊙ y)), written (=).</summary>
    public static unsafe void Backward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Softmax.Backward", "y", y.Length, "dx", dx.Length, rows, cols);
        KernelArgs.Length("Softmax.Backward", "dy", dy.Length, (long)rows * cols, "rows·cols");
        fixed (T* py = y, pdy = dy, pdx = dx)
        {
            T* ys = py, dys = pdy, dxs = pdx;
            CpuParallel.For(rows, 4L * cols, (start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    long o = (long)r * cols;
                    var yr = new ReadOnlySpan<T>(ys + o, cols);
                    var dyr = new ReadOnlySpan<T>(dys + o, cols);
                    T dot = TensorPrimitives.Dot(yr, dyr);
                    TensorPrimitives.AddMultiply(dyr, -dot, yr, new Span<T>(dxs + o, cols)); // (dy − dot) ⊙ y
                }
            });
        }
    }

    static void Check(string op, string inName, int inLength, string outName, int outLength, int rows, int cols)
    {
        KernelArgs.NonNegative(op, "rows", rows);
        KernelArgs.Positive(op, "cols", cols);
        KernelArgs.Length(op, inName, inLength, (long)rows * cols, "rows·cols");
        KernelArgs.Length(op, outName, outLength, (long)rows * cols, "rows·cols");
    }

    /// <summary>
    /// Two reads of x: the max, then exp(x − max) written to y while summing. The row was just read, so the second
    /// read comes from cache; a one-pass (online) form would need twice the exponentials.
    /// </summary>
    static void ForwardRow<T>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T max = TensorPrimitives.Max(x);
        double sum = SumExp(x, max, y);
        TensorPrimitives.Multiply(y, T.CreateChecked(1.0 / sum), y);
    }

    /// <summary>
    /// Σ exp(x − shift), accumulated in double across blocks; writes the exponentials to <paramref name="expOut"/>
    /// when it is not empty (softmax) and only sums them when it is (cross-entropy).
    /// </summary>
    internal static double SumExp<T>(ReadOnlySpan<T> x, T shift, Span<T> expOut)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Span<T> scratch = stackalloc T[Block];
        double sum = 0;
        for (int i = 0; i < x.Length; i += Block)
        {
            int n = Math.Min(Block, x.Length - i);
            sum += ShiftedExp.Apply(x.Slice(i, n), shift, expOut.IsEmpty ? scratch[..n] : expOut.Slice(i, n));
        }
        return sum;
    }
}

using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class Softmax
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> x, Span<T> y, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Softmax.ForwardReference", "x", x.Length, "y", y.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            double max = double.NegativeInfinity;
            foreach (T v in xr) max = Math.Max(max, double.CreateChecked(v));
            double sum = 0;
            foreach (T v in xr) sum += Math.Exp(double.CreateChecked(v) - max);
            for (int i = 0; i < cols; i++)
                y[r * cols + i] = T.CreateChecked(Math.Exp(double.CreateChecked(xr[i]) - max) / sum);
        }
    }

    /// <summary>Scalar reference of <see cref="Backward{T}"/>.</summary>
    public static void BackwardReference<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Softmax.BackwardReference", "y", y.Length, "dx", dx.Length, rows, cols);
        KernelArgs.Length("Softmax.BackwardReference", "dy", dy.Length, (long)rows * cols, "rows·cols");
        for (int r = 0; r < rows; r++)
        {
            // ∂y_i/∂x_j = y_i(δ_ij − y_j), so dx_j = y_j(dy_j − Σ_i dy_i y_i).
            double dot = 0;
            for (int i = 0; i < cols; i++) dot += double.CreateChecked(y[r * cols + i]) * double.CreateChecked(dy[r * cols + i]);
            for (int i = 0; i < cols; i++)
                dx[r * cols + i] = T.CreateChecked(double.CreateChecked(y[r * cols + i]) * (double.CreateChecked(dy[r * cols + i]) - dot));
        }
    }
}

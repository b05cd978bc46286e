using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class RmsNorm
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, Span<T> y, Span<T> invRms,
        int rows, int cols, T eps)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("RmsNorm.ForwardReference", x.Length, weight.Length, "y", y.Length, invRms.Length, rows, cols);
        double e = double.CreateChecked(eps);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            double sumSq = 0;
            foreach (T v in xr) sumSq += double.CreateChecked(v) * double.CreateChecked(v);
            double s = 1.0 / Math.Sqrt(sumSq / cols + e);
            for (int i = 0; i < cols; i++)
                y[r * cols + i] = T.CreateChecked(double.CreateChecked(xr[i]) * s * double.CreateChecked(weight[i]));
            invRms[r] = T.CreateChecked(s);
        }
    }

    /// <summary>Scalar reference of <see cref="Backward{T}"/>; dx is written, dWeight accumulated.</summary>
    public static void BackwardReference<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> weight, ReadOnlySpan<T> invRms,
        Span<T> dx, Span<T> dWeight, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("RmsNorm.BackwardReference", x.Length, weight.Length, "dx", dx.Length, invRms.Length, rows, cols);
        KernelArgs.Length("RmsNorm.BackwardReference", "dy", dy.Length, (long)rows * cols, "rows·cols");
        KernelArgs.Length("RmsNorm.BackwardReference", "dWeight", dWeight.Length, cols, "cols");
        var dw = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            double s = double.CreateChecked(invRms[r]);
            // y_i = x_i·s·w_i with s = (mean(x²)+eps)^(-1/2), ∂s/∂x_j = −s³·x_j/cols.
            double gx = 0;
            for (int i = 0; i < cols; i++)
                gx += D(dy[r * cols + i]) * D(weight[i]) * D(x[r * cols + i]);
            for (int i = 0; i < cols; i++)
            {
                double xi = D(x[r * cols + i]), dyi = D(dy[r * cols + i]);
                dx[r * cols + i] = T.CreateChecked(s * dyi * D(weight[i]) - xi * s * s * s * gx / cols);
                dw[i] += dyi * xi * s;
            }
        }
        for (int i = 0; i < cols; i++) dWeight[i] = T.CreateChecked(D(dWeight[i]) + dw[i]);
    }

    static double D<T>(T v) where T : INumberBase<T> => double.CreateChecked(v);
}

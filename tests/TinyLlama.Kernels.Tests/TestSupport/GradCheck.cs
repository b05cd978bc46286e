namespace TinyLlama.Kernels.Tests;

/// <summary>Central finite differences in double: the independent check of every hand-written backward.</summary>
public static class GradCheck
{
    /// <summary>∂loss/∂x_i ≈ (loss(x + h·e_i) − loss(x − h·e_i)) / 2h, for every i; x is restored afterwards.</summary>
    public static double[] Numerical(double[] x, Func<double> loss, double h = 1e-6)
    {
        var grad = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double saved = x[i];
            x[i] = saved + h;
            double plus = loss();
            x[i] = saved - h;
            double minus = loss();
            x[i] = saved;
            grad[i] = (plus - minus) / (2 * h);
        }
        return grad;
    }

    /// <summary>Σ g ⊙ y: a scalar loss whose gradient with respect to y is g.</summary>
    public static double Dot(double[] g, double[] y)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += g[i] * y[i];
        return s;
    }

    /// <summary>Finite differences carry about 1e-9 of error at h = 1e-6 on values of order one.</summary>
    public const double Tolerance = 1e-6;
}

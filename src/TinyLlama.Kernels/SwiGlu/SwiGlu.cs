using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class SwiGlu
{
    /// <summary>Scalar reference of <see cref="SiluForward{T}"/>.</summary>
    public static void SiluForwardReference<T>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        KernelArgs.Length("SwiGlu.SiluForwardReference", "y", y.Length, x.Length, "x.Length");
        for (int i = 0; i < x.Length; i++) y[i] = T.CreateChecked(Silu(D(x[i])));
    }

    /// <summary>Scalar reference of <see cref="SiluBackward{T}"/>.</summary>
    public static void SiluBackwardReference<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        KernelArgs.Length("SwiGlu.SiluBackwardReference", "dy", dy.Length, x.Length, "x.Length");
        KernelArgs.Length("SwiGlu.SiluBackwardReference", "dx", dx.Length, x.Length, "x.Length");
        for (int i = 0; i < x.Length; i++) dx[i] = T.CreateChecked(D(dy[i]) * SiluDerivative(D(x[i])));
    }

    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        KernelArgs.Length("SwiGlu.ForwardReference", "up", up.Length, gate.Length, "gate.Length");
        KernelArgs.Length("SwiGlu.ForwardReference", "y", y.Length, gate.Length, "gate.Length");
        for (int i = 0; i < gate.Length; i++) y[i] = T.CreateChecked(Silu(D(gate[i])) * D(up[i]));
    }

    /// <summary>Scalar reference of <see cref="Backward{T}"/>.</summary>
    public static void BackwardReference<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, ReadOnlySpan<T> dy, Span<T> dGate, Span<T> dUp)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "SwiGlu.BackwardReference";
        KernelArgs.Length(op, "up", up.Length, gate.Length, "gate.Length");
        KernelArgs.Length(op, "dy", dy.Length, gate.Length, "gate.Length");
        KernelArgs.Length(op, "dGate", dGate.Length, gate.Length, "gate.Length");
        KernelArgs.Length(op, "dUp", dUp.Length, gate.Length, "gate.Length");
        for (int i = 0; i < gate.Length; i++)
        {
            double g = D(gate[i]), u = D(up[i]), d = D(dy[i]);
            dGate[i] = T.CreateChecked(d * u * SiluDerivative(g));
            dUp[i] = T.CreateChecked(d * Silu(g));
        }
    }

    // σ written so that exp never overflows: for x < 0 use e^x / (1 + e^x).
    static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    static double Silu(double x) => x * Sigmoid(x);

    // d/dx x·σ(x) = σ(x) + x·σ(x)(1 − σ(x)).
    static double SiluDerivative(double x)
    {
        double s = Sigmoid(x);
        return s * (1 + x * (1 - s));
    }

    static double D<T>(T v) where T : INumberBase<T> => double.CreateChecked(v);
}

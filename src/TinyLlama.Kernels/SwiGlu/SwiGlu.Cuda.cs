using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// SiLU and the SwiGLU gate on the GPU, the same math as <see cref="SwiGlu"/>: y = SiLU(gate) ⊙ up with
/// SiLU(x) = x·σ(x); backward dGate = dy ⊙ up ⊙ σ(g)(1 + g(1 − σ(g))), dUp = dy ⊙ SiLU(g). σ is taken as
/// 1/(1 + e) or e/(1 + e) with e = exp(−|x|), so the exponential never overflows (as on the CPU).
/// <para>
/// Element-wise, grid-stride (<see cref="GpuLaunch.Elementwise"/>), each thread independent, f32 arithmetic. Every
/// element is read and written exactly once, so outputs may alias inputs. Traffic per element (bytes, f32 / bf16):
/// SwiGLU forward 2 reads + 1 write = 12 / 6; backward 3 reads + 2 writes = 20 / 10; SiLU forward 8 / 4,
/// backward 12 / 6. The exponential is one <c>ex2.approx</c> per element on the GPU, far below the memory bound.
/// </para>
/// </summary>
public static class SwiGluKernels
{
    /// <summary>y = SiLU(gate)·up.</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Forward<T, TElement>(ArrayView<T> gate, ArrayView<T> up, ArrayView<T> y)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        TElement e = default;
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < gate.Length; i += stride)
        {
            float g = e.Widen(gate[i]);
            y[i] = e.Narrow(g * Sigmoid(g) * e.Widen(up[i]));
        }
    }

    /// <summary>dGate = dy·up·SiLU'(gate), dUp = dy·SiLU(gate), both written (=).</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Backward<T, TElement>(ArrayView<T> gate, ArrayView<T> up, ArrayView<T> dy, ArrayView<T> dGate, ArrayView<T> dUp)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        TElement e = default;
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < gate.Length; i += stride)
        {
            float g = e.Widen(gate[i]), u = e.Widen(up[i]), d = e.Widen(dy[i]);
            float s = Sigmoid(g);
            dGate[i] = e.Narrow(d * u * (s * (1f + g * (1f - s))));
            dUp[i] = e.Narrow(d * (g * s));
        }
    }

    /// <summary>y = x·σ(x).</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void SiluForward<T, TElement>(ArrayView<T> x, ArrayView<T> y)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        TElement e = default;
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < x.Length; i += stride)
        {
            float v = e.Widen(x[i]);
            y[i] = e.Narrow(v * Sigmoid(v));
        }
    }

    /// <summary>dx = dy·σ(x)(1 + x(1 − σ(x))).</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void SiluBackward<T, TElement>(ArrayView<T> x, ArrayView<T> dy, ArrayView<T> dx)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        TElement e = default;
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < x.Length; i += stride)
        {
            float v = e.Widen(x[i]);
            float s = Sigmoid(v);
            dx[i] = e.Narrow(e.Widen(dy[i]) * (s * (1f + v * (1f - s))));
        }
    }

    /// <summary>σ(x) from e = exp(−|x|) ∈ (0, 1]: never overflows, and keeps relative accuracy for large negative x.</summary>
    static float Sigmoid(float x)
    {
        float ex = MathF.Exp(-MathF.Abs(x));
        float r = 1f / (1f + ex);
        return x >= 0f ? r : ex * r;
    }
}

/// <summary>Launches the SiLU / SwiGLU kernels on one accelerator; lengths are checked on the host before any launch.</summary>
public sealed class SwiGluGpu
{
    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>> forwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>> forwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> backwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>> backwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>> siluForwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>> siluForwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>> siluBackwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>> siluBackwardBf16;

    public SwiGluGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        forwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>>(SwiGluKernels.Forward<float, F32Element>);
        forwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>>(SwiGluKernels.Forward<ushort, Bf16Element>);
        backwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(
            SwiGluKernels.Backward<float, F32Element>);
        backwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>>(
            SwiGluKernels.Backward<ushort, Bf16Element>);
        siluForwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>>(SwiGluKernels.SiluForward<float, F32Element>);
        siluForwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>>(SwiGluKernels.SiluForward<ushort, Bf16Element>);
        siluBackwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>>(SwiGluKernels.SiluBackward<float, F32Element>);
        siluBackwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>>(SwiGluKernels.SiluBackward<ushort, Bf16Element>);
    }

    /// <summary>y = SiLU(gate) ⊙ up; all of gate.Length elements.</summary>
    public void Forward(AcceleratorStream stream, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> y)
    {
        CheckForward(gate.Length, up.Length, y.Length);
        if (gate.Length > 0) forwardF32(stream, GpuLaunch.Elementwise(accelerator, gate.Length), gate, up, y);
    }

    /// <inheritdoc cref="Forward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float})"/>
    public void Forward(AcceleratorStream stream, ArrayView<ushort> gate, ArrayView<ushort> up, ArrayView<ushort> y)
    {
        CheckForward(gate.Length, up.Length, y.Length);
        if (gate.Length > 0) forwardBf16(stream, GpuLaunch.Elementwise(accelerator, gate.Length), gate, up, y);
    }

    /// <summary>dGate and dUp are written (=).</summary>
    public void Backward(AcceleratorStream stream, ArrayView<float> gate, ArrayView<float> up, ArrayView<float> dy,
        ArrayView<float> dGate, ArrayView<float> dUp)
    {
        CheckBackward(gate.Length, up.Length, dy.Length, dGate.Length, dUp.Length);
        if (gate.Length > 0) backwardF32(stream, GpuLaunch.Elementwise(accelerator, gate.Length), gate, up, dy, dGate, dUp);
    }

    /// <inheritdoc cref="Backward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float})"/>
    public void Backward(AcceleratorStream stream, ArrayView<ushort> gate, ArrayView<ushort> up, ArrayView<ushort> dy,
        ArrayView<ushort> dGate, ArrayView<ushort> dUp)
    {
        CheckBackward(gate.Length, up.Length, dy.Length, dGate.Length, dUp.Length);
        if (gate.Length > 0) backwardBf16(stream, GpuLaunch.Elementwise(accelerator, gate.Length), gate, up, dy, dGate, dUp);
    }

    /// <summary>y = x·σ(x).</summary>
    public void SiluForward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y)
    {
        KernelArgs.Length("SwiGluGpu.SiluForward", "y", y.Length, x.Length, "x.Length");
        if (x.Length > 0) siluForwardF32(stream, GpuLaunch.Elementwise(accelerator, x.Length), x, y);
    }

    /// <inheritdoc cref="SiluForward(AcceleratorStream, ArrayView{float}, ArrayView{float})"/>
    public void SiluForward(AcceleratorStream stream, ArrayView<ushort> x, ArrayView<ushort> y)
    {
        KernelArgs.Length("SwiGluGpu.SiluForward", "y", y.Length, x.Length, "x.Length");
        if (x.Length > 0) siluForwardBf16(stream, GpuLaunch.Elementwise(accelerator, x.Length), x, y);
    }

    /// <summary>dx = dy·SiLU'(x), written (=).</summary>
    public void SiluBackward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx)
    {
        CheckSiluBackward(x.Length, dy.Length, dx.Length);
        if (x.Length > 0) siluBackwardF32(stream, GpuLaunch.Elementwise(accelerator, x.Length), x, dy, dx);
    }

    /// <inheritdoc cref="SiluBackward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float})"/>
    public void SiluBackward(AcceleratorStream stream, ArrayView<ushort> x, ArrayView<ushort> dy, ArrayView<ushort> dx)
    {
        CheckSiluBackward(x.Length, dy.Length, dx.Length);
        if (x.Length > 0) siluBackwardBf16(stream, GpuLaunch.Elementwise(accelerator, x.Length), x, dy, dx);
    }

    static void CheckForward(long gate, long up, long y)
    {
        KernelArgs.Length("SwiGluGpu.Forward", "up", up, gate, "gate.Length");
        KernelArgs.Length("SwiGluGpu.Forward", "y", y, gate, "gate.Length");
    }

    static void CheckBackward(long gate, long up, long dy, long dGate, long dUp)
    {
        const string op = "SwiGluGpu.Backward";
        KernelArgs.Length(op, "up", up, gate, "gate.Length");
        KernelArgs.Length(op, "dy", dy, gate, "gate.Length");
        KernelArgs.Length(op, "dGate", dGate, gate, "gate.Length");
        KernelArgs.Length(op, "dUp", dUp, gate, "gate.Length");
    }

    static void CheckSiluBackward(long x, long dy, long dx)
    {
        KernelArgs.Length("SwiGluGpu.SiluBackward", "dy", dy, x, "x.Length");
        KernelArgs.Length("SwiGluGpu.SiluBackward", "dx", dx, x, "x.Length");
    }
}

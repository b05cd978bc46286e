using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlama.Kernels;

/// <summary>
/// SiLU(x) = x·σ(x), and the fused SwiGLU gate of the Llama MLP: y = SiLU(gate) ⊙ up. All spans have n elements.
/// Derivatives: SiLU'(x) = σ(x)·(1 + x·(1 − σ(x))); for SwiGLU dGate = dy ⊙ up ⊙ SiLU'(gate), dUp = dy ⊙ SiLU(gate).
/// Work goes through an L1-sized stack block, so outputs may alias inputs and nothing is allocated.
/// </summary>
public static partial class SwiGlu
{
    const int Block = 512;

    public static void SiluForward<T>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        KernelArgs.Length("SwiGlu.SiluForward", "y", y.Length, x.Length, "x.Length");
        Blocks(x, x, x, y, y, static (x, _, _, y, _, sig) =>
        {
            Sigmoid(x, sig);
            TensorPrimitives.Multiply(sig, x, y);
        });
    }

    /// <summary>dx = dy · σ(x)·(1 + x·(1 − σ(x))), written (=).</summary>
    public static void SiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        KernelArgs.Length("SwiGlu.SiluBackward", "dy", dy.Length, x.Length, "x.Length");
        KernelArgs.Length("SwiGlu.SiluBackward", "dx", dx.Length, x.Length, "x.Length");
        Blocks(x, dy, dy, dx, dx, static (x, dy, _, dx, _, sig) =>
        {
            SiluDerivative(x, sig);
            TensorPrimitives.Multiply(sig, dy, dx);
        });
    }

    public static void Forward<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        KernelArgs.Length("SwiGlu.Forward", "up", up.Length, gate.Length, "gate.Length");
        KernelArgs.Length("SwiGlu.Forward", "y", y.Length, gate.Length, "gate.Length");
        Blocks(gate, up, up, y, y, static (g, up, _, y, _, sig) =>
        {
            Sigmoid(g, sig);
            TensorPrimitives.Multiply(sig, g, sig);
            TensorPrimitives.Multiply(sig, up, y);
        });
    }

    /// <summary>dGate and dUp are written (=).</summary>
    public static void Backward<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, ReadOnlySpan<T> dy, Span<T> dGate, Span<T> dUp)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "SwiGlu.Backward";
        KernelArgs.Length(op, "up", up.Length, gate.Length, "gate.Length");
        KernelArgs.Length(op, "dy", dy.Length, gate.Length, "gate.Length");
        KernelArgs.Length(op, "dGate", dGate.Length, gate.Length, "gate.Length");
        KernelArgs.Length(op, "dUp", dUp.Length, gate.Length, "gate.Length");
        Blocks(gate, up, dy, dGate, dUp, static (g, up, dy, dGate, dUp, scratch) =>
        {
            // Both results are finished in scratch before either output is written, so outputs may alias inputs.
            Span<T> silu = stackalloc T[scratch.Length];
            Sigmoid(g, silu);
            TensorPrimitives.Multiply(silu, g, silu);
            TensorPrimitives.Multiply(silu, dy, silu);     // dUp
            SiluDerivative(g, scratch);
            TensorPrimitives.Multiply(scratch, up, scratch);
            TensorPrimitives.Multiply(scratch, dy, scratch); // dGate
            scratch.CopyTo(dGate);
            silu.CopyTo(dUp);
        });
    }

    /// <summary>
    /// σ(x) into s. For float the exponential is <see cref="ShiftedExp"/>'s, taken of −|x| so it never overflows:
    /// with e = exp(−|x|), σ = 1/(1 + e) for x ≥ 0 and e/(1 + e) below. With TensorPrimitives.Sigmoid, SiLU was
    /// about 13× slower on one core here (1 M floats, best of 15).
    /// </summary>
    static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> s)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) || !Vector256.IsHardwareAccelerated)
        {
            TensorPrimitives.Sigmoid(x, s);
            return;
        }
        var xf = MemoryMarshal.Cast<T, float>(x);
        var sf = MemoryMarshal.Cast<T, float>(s);
        int i = 0;
        for (; i <= xf.Length - 8; i += 8)
        {
            var v = Vector256.Create(xf.Slice(i, 8));
            var e = ShiftedExp.Exp(-Vector256.Abs(v));
            var d = Vector256<float>.One / (Vector256<float>.One + e);
            Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(v, Vector256<float>.Zero), d, e * d).CopyTo(sf.Slice(i, 8));
        }
        for (; i < xf.Length; i++) sf[i] = 1f / (1f + MathF.Exp(-xf[i]));
    }

    /// <summary>σ(x)·(1 + x·(1 − σ(x))) into d.</summary>
    static void SiluDerivative<T>(ReadOnlySpan<T> x, Span<T> d)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Span<T> sig = stackalloc T[d.Length];
        Sigmoid(x, sig);
        TensorPrimitives.Subtract(T.One, sig, d);            // 1 − σ
        TensorPrimitives.MultiplyAdd(x, d, T.One, d);      // 1 + x·(1 − σ)
        TensorPrimitives.Multiply(d, sig, d);
    }

    delegate void BlockBody<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> out1, Span<T> out2, Span<T> scratch);

    /// <summary>Runs <paramref name="body"/> over blocks of the n elements, in parallel when n is large.</summary>
    static unsafe void Blocks<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> out1, Span<T> out2, BlockBody<T> body)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = a.Length, blocks = (n + Block - 1) / Block;
        fixed (T* pa = a, pb = b, pc = c, po1 = out1, po2 = out2)
        {
            T* sa = pa, sb = pb, sc = pc, so1 = po1, so2 = po2;
            CpuParallel.For(blocks, 20L * Block, (first, last) =>
            {
                Span<T> scratch = stackalloc T[Block];
                for (int k = first; k < last; k++)
                {
                    int o = k * Block, len = Math.Min(Block, n - o);
                    body(new ReadOnlySpan<T>(sa + o, len), new ReadOnlySpan<T>(sb + o, len), new ReadOnlySpan<T>(sc + o, len),
                        new Span<T>(so1 + o, len), new Span<T>(so2 + o, len), scratch[..len]);
                }
            });
        }
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlama.Kernels;

/// <summary>
/// Rotary position embedding, rotate-half form (HF Llama, TinyLlama): for a head vector x of size Hs, half = Hs/2,
/// position p, frequency index i &lt; half:
///   y[i]        = x[i]·cos(p·θᵢ) − x[i+half]·sin(p·θᵢ)
///   y[i+half]   = x[i+half]·cos(p·θᵢ) + x[i]·sin(p·θᵢ),   θᵢ = base^(−2i/Hs).
/// Layout: x, y (B, T, H, Hs); cos, sin tables (maxT, Hs/2) from <see cref="Tables{T}"/>; token t has position startPos + t.
/// Backward is the same rotation by −angle (a rotation's inverse is its transpose): flip the sign of sin.
/// </summary>
public static partial class Rope
{
    /// <summary>Fills cos and sin, each (maxT, headSize/2), computed in double then rounded.</summary>
    public static void Tables<T>(int maxT, int headSize, double theta, Span<T> cos, Span<T> sin)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "Rope.Tables";
        KernelArgs.NonNegative(op, "maxT", maxT);
        CheckHeadSize(op, headSize);
        if (!(theta > 0)) throw new ArgumentOutOfRangeException(nameof(theta), theta, $"{op}: theta must be > 0, got {theta}");
        int half = headSize / 2;
        KernelArgs.Length(op, "cos", cos.Length, (long)maxT * half, "maxT·headSize/2");
        KernelArgs.Length(op, "sin", sin.Length, (long)maxT * half, "maxT·headSize/2");
        for (int i = 0; i < half; i++)
        {
            double frequency = Math.Pow(theta, -2.0 * i / headSize);
            for (int p = 0; p < maxT; p++)
            {
                double angle = p * frequency;
                cos[p * half + i] = T.CreateChecked(Math.Cos(angle));
                sin[p * half + i] = T.CreateChecked(Math.Sin(angle));
            }
        }
    }

    /// <summary>y may alias x (in place).</summary>
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Rope.Forward", "x", x.Length, "y", y.Length, batch, seqLen, heads, headSize, cos.Length, sin.Length, startPos);
        Rotate(x, y, batch, seqLen, heads, headSize, cos, sin, startPos, inverse: false);
    }

    /// <summary>The transpose of the rotation (rotate by −angle); dx may alias dy.</summary>
    public static void Backward<T>(ReadOnlySpan<T> dy, Span<T> dx, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("Rope.Backward", "dy", dy.Length, "dx", dx.Length, batch, seqLen, heads, headSize, cos.Length, sin.Length, startPos);
        Rotate(dy, dx, batch, seqLen, heads, headSize, cos, sin, startPos, inverse: true);
    }

    static unsafe void Rotate<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos, bool inverse)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int half = headSize / 2;
        fixed (T* px = x, py = y, pc = cos, ps = sin)
        {
            T* xs = px, ys = py, cs = pc, ss = ps;
            // One item is one token: H head vectors at the same position, so the table row is loaded once per token.
            CpuParallel.For(batch * seqLen, 3L * heads * headSize, (start, end) =>
            {
                for (int bt = start; bt < end; bt++)
                {
                    int pos = startPos + bt % seqLen;
                    var c = new ReadOnlySpan<T>(cs + (long)pos * half, half);
                    var s = new ReadOnlySpan<T>(ss + (long)pos * half, half);
                    for (int h = 0; h < heads; h++)
                    {
                        long o = ((long)bt * heads + h) * headSize;
                        RotateHead(new ReadOnlySpan<T>(xs + o, headSize), new Span<T>(ys + o, headSize), c, s, inverse);
                    }
                }
            });
        }
    }

    /// <summary>Every element pair is loaded before either is stored, which is what makes y == x safe.</summary>
    static void RotateHead<T>(ReadOnlySpan<T> x, Span<T> y, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, bool inverse)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int half = cos.Length;
        ref T rx = ref MemoryMarshal.GetReference(x), ry = ref MemoryMarshal.GetReference(y);
        ref T rc = ref MemoryMarshal.GetReference(cos), rs = ref MemoryMarshal.GetReference(sin);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            for (; i <= half - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var a = Vector256.LoadUnsafe(ref rx, (nuint)i);
                var b = Vector256.LoadUnsafe(ref rx, (nuint)(i + half));
                var c = Vector256.LoadUnsafe(ref rc, (nuint)i);
                var s = Vector256.LoadUnsafe(ref rs, (nuint)i);
                if (inverse) s = -s;
                (a * c - b * s).StoreUnsafe(ref ry, (nuint)i);
                (b * c + a * s).StoreUnsafe(ref ry, (nuint)(i + half));
            }
        }
        for (; i < half; i++)
        {
            T a = Unsafe.Add(ref rx, i), b = Unsafe.Add(ref rx, i + half);
            T c = Unsafe.Add(ref rc, i), s = inverse ? -Unsafe.Add(ref rs, i) : Unsafe.Add(ref rs, i);
            Unsafe.Add(ref ry, i) = a * c - b * s;
            Unsafe.Add(ref ry, i + half) = b * c + a * s;
        }
    }

    static void CheckHeadSize(string op, int headSize)
    {
        if (headSize <= 0 || headSize % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headSize), headSize, $"{op}: headSize must be even and > 0, got {headSize}");
    }

    static void Check(string op, string inName, int inLength, string outName, int outLength,
        int batch, int seqLen, int heads, int headSize, int cos, int sin, int startPos)
    {
        KernelArgs.NonNegative(op, "batch", batch);
        KernelArgs.NonNegative(op, "seqLen", seqLen);
        KernelArgs.NonNegative(op, "heads", heads);
        KernelArgs.NonNegative(op, "startPos", startPos);
        CheckHeadSize(op, headSize);
        long n = (long)batch * seqLen * heads * headSize;
        KernelArgs.Length(op, inName, inLength, n, "batch·seqLen·heads·headSize");
        KernelArgs.Length(op, outName, outLength, n, "batch·seqLen·heads·headSize");
        // The tables may be longer than needed (maxT ≥ startPos + seqLen), never shorter.
        long needed = (long)(startPos + seqLen) * (headSize / 2);
        KernelArgs.AtLeast(op, "cos", cos, needed, "(startPos+seqLen)·headSize/2");
        KernelArgs.AtLeast(op, "sin", sin, needed, "(startPos+seqLen)·headSize/2");
    }
}

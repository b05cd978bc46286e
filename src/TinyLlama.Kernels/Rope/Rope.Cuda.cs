using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Rotary position embedding on the GPU, rotate-half form, the same math and layout as <see cref="Rope"/>: x, y
/// (B, T, H, Hs) in the storage type; cos, sin (maxT, Hs/2) in f32 (as <see cref="Rope.Tables{T}"/> fills them for
/// float — the tables stay f32 under bf16 storage, so the angle is not rounded twice); token t has position
/// startPos + t. For the pair index q = ((b·T + t)·H + h)·half + i:
///   y[i] = x[i]·cos − x[i+half]·sin,   y[i+half] = x[i+half]·cos + x[i]·sin   (backward: sin → −sin).
/// <para>
/// Element-wise, grid-stride over pairs: consecutive threads take consecutive i, so both halves are read and written
/// coalesced. One thread reads both elements of its pair before writing either, so y may alias x (in place). One
/// launch rotates two tensors — q (H = query heads) and k (H = kv heads) — pairs of the first, then of the second.
/// Traffic per element: 1 read + 1 write (8 bytes in f32, 4 in bf16); the table rows (f32) are shared by every head
/// and batch entry at a position, so they come from L1/L2.
/// </para>
/// </summary>
public static class RopeKernels
{
    /// <summary>Rotates pairs of (x1 → y1, heads1) then (x2 → y2, heads2); sign is +1 forward, −1 backward.</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Rotate<T, TElement>(ArrayView<T> x1, ArrayView<T> y1, int heads1, ArrayView<T> x2, ArrayView<T> y2, int heads2,
        ArrayView<float> cos, ArrayView<float> sin, int seqLen, int half, int startPos, float sign)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        // The launcher guarantees pairs1 + pairs2 < 2³¹, so int index arithmetic (cheaper divisions) is exact.
        int pairs1 = (int)(x1.Length / 2), pairs = pairs1 + (int)(x2.Length / 2);
        int stride = Grid.DimX * Group.DimX;
        for (int q = Grid.GlobalIndex.X; q < pairs; q += stride)
        {
            if (q < pairs1) RotatePair<T, TElement>(x1, y1, heads1, q, cos, sin, seqLen, half, startPos, sign);
            else RotatePair<T, TElement>(x2, y2, heads2, q - pairs1, cos, sin, seqLen, half, startPos, sign);
        }
    }

    static void RotatePair<T, TElement>(ArrayView<T> x, ArrayView<T> y, int heads, int q,
        ArrayView<float> cos, ArrayView<float> sin, int seqLen, int half, int startPos, float sign)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        TElement e = default;
        int vector = q / half, i = q - vector * half;       // vector = (b·T + t)·H + h
        int pos = startPos + (vector / heads) % seqLen;
        int table = pos * half + i;
        float c = cos[table], s = sign * sin[table];
        int o = vector * 2 * half + i;
        float a = e.Widen(x[o]), b = e.Widen(x[o + half]);
        y[o] = e.Narrow(a * c - b * s);
        y[o + half] = e.Narrow(b * c + a * s);
    }
}

/// <summary>Launches the RoPE kernel on one accelerator; lengths are checked on the host before any launch.</summary>
public sealed class RopeGpu
{
    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int,
        ArrayView<float>, ArrayView<float>, int, int, int, float> rotateF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, int, ArrayView<ushort>, ArrayView<ushort>, int,
        ArrayView<float>, ArrayView<float>, int, int, int, float> rotateBf16;

    public RopeGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        rotateF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int,
            ArrayView<float>, ArrayView<float>, int, int, int, float>(RopeKernels.Rotate<float, F32Element>);
        rotateBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, int, ArrayView<ushort>, ArrayView<ushort>, int,
            ArrayView<float>, ArrayView<float>, int, int, int, float>(RopeKernels.Rotate<ushort, Bf16Element>);
    }

    /// <summary>y = rotate(x), (B, T, H, Hs); y may be x (in place).</summary>
    public void Forward(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> y, int batch, int seqLen, int heads, int headSize,
        ArrayView<float> cos, ArrayView<float> sin, int startPos)
    {
        Check("RopeGpu.Forward", "x", x.Length, "y", y.Length, batch, seqLen, heads, headSize, cos.Length, sin.Length, startPos, 0);
        Launch(rotateF32, stream, x, y, heads, x, y, 0, cos, sin, seqLen, headSize, startPos, 1f);
    }

    /// <inheritdoc cref="Forward(AcceleratorStream, ArrayView{float}, ArrayView{float}, int, int, int, int, ArrayView{float}, ArrayView{float}, int)"/>
    public void Forward(AcceleratorStream stream, ArrayView<ushort> x, ArrayView<ushort> y, int batch, int seqLen, int heads, int headSize,
        ArrayView<float> cos, ArrayView<float> sin, int startPos)
    {
        Check("RopeGpu.Forward", "x", x.Length, "y", y.Length, batch, seqLen, heads, headSize, cos.Length, sin.Length, startPos, 0);
        Launch(rotateBf16, stream, x, y, heads, x, y, 0, cos, sin, seqLen, headSize, startPos, 1f);
    }

    /// <summary>dx = Rᵀ·dy (rotation by −angle); dx may be dy (in place).</summary>
    public void Backward(AcceleratorStream stream, ArrayView<float> dy, ArrayView<float> dx, int batch, int seqLen, int heads, int headSize,
        ArrayView<float> cos, ArrayView<float> sin, int startPos)
    {
        Check("RopeGpu.Backward", "dy", dy.Length, "dx", dx.Length, batch, seqLen, heads, headSize, cos.Length, sin.Length, startPos, 0);
        Launch(rotateF32, stream, dy, dx, heads, dy, dx, 0, cos, sin, seqLen, headSize, startPos, -1f);
    }

    /// <inheritdoc cref="Backward(AcceleratorStream, ArrayView{float}, ArrayView{float}, int, int, int, int, ArrayView{float}, ArrayView{float}, int)"/>
    public void Backward(AcceleratorStream stream, ArrayView<ushort> dy, ArrayView<ushort> dx, int batch, int seqLen, int heads, int headSize,
        ArrayView<float> cos, ArrayView<float> sin, int startPos)
    {
        Check("RopeGpu.Backward", "dy", dy.Length, "dx", dx.Length, batch, seqLen, heads, headSize, cos.Length, sin.Length, startPos, 0);
        Launch(rotateBf16, stream, dy, dx, heads, dy, dx, 0, cos, sin, seqLen, headSize, startPos, -1f);
    }

    /// <summary>
    /// Rotates q (B, T, heads, Hs) and k (B, T, kvHeads, Hs) in place in one launch — forward, or backward (the
    /// transpose) on their gradients when <paramref name="inverse"/>.
    /// </summary>
    public void ApplyInPlace(AcceleratorStream stream, ArrayView<float> q, ArrayView<float> k, int batch, int seqLen, int heads, int kvHeads,
        int headSize, ArrayView<float> cos, ArrayView<float> sin, int startPos, bool inverse = false)
    {
        CheckQk(q.Length, k.Length, batch, seqLen, heads, kvHeads, headSize, cos.Length, sin.Length, startPos);
        Launch(rotateF32, stream, q, q, heads, k, k, kvHeads, cos, sin, seqLen, headSize, startPos, inverse ? -1f : 1f);
    }

    /// <inheritdoc cref="ApplyInPlace(AcceleratorStream, ArrayView{float}, ArrayView{float}, int, int, int, int, int, ArrayView{float}, ArrayView{float}, int, bool)"/>
    public void ApplyInPlace(AcceleratorStream stream, ArrayView<ushort> q, ArrayView<ushort> k, int batch, int seqLen, int heads, int kvHeads,
        int headSize, ArrayView<float> cos, ArrayView<float> sin, int startPos, bool inverse = false)
    {
        CheckQk(q.Length, k.Length, batch, seqLen, heads, kvHeads, headSize, cos.Length, sin.Length, startPos);
        Launch(rotateBf16, stream, q, q, heads, k, k, kvHeads, cos, sin, seqLen, headSize, startPos, inverse ? -1f : 1f);
    }

    void Launch<T>(Action<AcceleratorStream, KernelConfig, ArrayView<T>, ArrayView<T>, int, ArrayView<T>, ArrayView<T>, int,
            ArrayView<float>, ArrayView<float>, int, int, int, float> kernel,
        AcceleratorStream stream, ArrayView<T> x1, ArrayView<T> y1, int heads1, ArrayView<T> x2, ArrayView<T> y2, int heads2,
        ArrayView<float> cos, ArrayView<float> sin, int seqLen, int headSize, int startPos, float sign)
        where T : unmanaged
    {
        long pairs = x1.Length / 2 + (heads2 == 0 ? 0 : x2.Length / 2);
        if (pairs == 0) return;
        // With no second tensor the kernel is handed the first again, with an empty range: a zero-length view.
        if (heads2 == 0) (x2, y2) = (x1.SubView(0, 0), y1.SubView(0, 0));
        kernel(stream, GpuLaunch.Elementwise(accelerator, pairs), x1, y1, Math.Max(heads1, 1), x2, y2, Math.Max(heads2, 1),
            cos, sin, seqLen, headSize / 2, startPos, sign);
    }

    static void CheckQk(long q, long k, int batch, int seqLen, int heads, int kvHeads, int headSize, long cos, long sin, int startPos)
    {
        const string op = "RopeGpu.ApplyInPlace";
        Check(op, "q", q, "q", q, batch, seqLen, heads, headSize, cos, sin, startPos, 0);
        Check(op, "k", k, "k", k, batch, seqLen, kvHeads, headSize, cos, sin, startPos, q / 2);
    }

    static void Check(string op, string inName, long inLength, string outName, long outLength,
        int batch, int seqLen, int heads, int headSize, long cos, long sin, int startPos, long otherPairs)
    {
        KernelArgs.NonNegative(op, "batch", batch);
        KernelArgs.NonNegative(op, "seqLen", seqLen);
        KernelArgs.NonNegative(op, "heads", heads);
        KernelArgs.NonNegative(op, "startPos", startPos);
        if (headSize <= 0 || headSize % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headSize), headSize, $"{op}: headSize must be even and > 0, got {headSize}");
        long n = (long)batch * seqLen * heads * headSize;
        KernelArgs.Length(op, inName, inLength, n, "batch·seqLen·heads·headSize");
        KernelArgs.Length(op, outName, outLength, n, "batch·seqLen·heads·headSize");
        // The tables may be longer than needed (maxT ≥ startPos + seqLen), never shorter.
        long needed = ((long)startPos + seqLen) * (headSize / 2);
        if (cos < needed) throw TablesTooShort(op, "cos", cos, needed);
        if (sin < needed) throw TablesTooShort(op, "sin", sin, needed);
        // The kernel indexes pairs and table entries with int.
        if (otherPairs + n / 2 > int.MaxValue || needed > int.MaxValue)
            throw new ArgumentOutOfRangeException(inName, $"{op}: {inName} is too large for one launch ({n} elements)");
    }

    static ArgumentException TablesTooShort(string op, string name, long actual, long needed) =>
        new($"{op}: {name} has {actual} elements, expected at least (startPos+seqLen)·headSize/2 = {needed}", name);
}

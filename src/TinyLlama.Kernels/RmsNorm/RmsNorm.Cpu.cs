using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TinyLlama.Kernels;

/// <summary>
/// RMSNorm over the last axis: y = x · invRms · w, invRms = 1 / sqrt(mean(x²) + eps).
/// x, y: (rows, cols); weight: (cols); invRms: (rows), saved for backward.
/// Backward, with g = dy ⊙ w and s = invRms of the row:
///   dx = s·g − x · s³ · (g·x) / cols,   dWeight += Σ_rows dy ⊙ x · s.
/// </summary>
public static partial class RmsNorm
{
    public static unsafe void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, Span<T> y, Span<T> invRms,
        int rows, int cols, T eps)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("RmsNorm.Forward", x.Length, weight.Length, "y", y.Length, invRms.Length, rows, cols);
        fixed (T* px = x, pw = weight, py = y, pr = invRms)
        {
            T* xs = px, ws = pw, ys = py, rs = pr; // fixed locals cannot be captured by the lambda
            CpuParallel.For(rows, 4L * cols, (start, end) =>
            {
                var w = new ReadOnlySpan<T>(ws, cols);
                for (int r = start; r < end; r++)
                {
                    long o = (long)r * cols;
                    rs[r] = ForwardRow(new ReadOnlySpan<T>(xs + o, cols), w, new Span<T>(ys + o, cols), eps);
                }
            });
        }
    }

    /// <summary>dx is written (=); dWeight is accumulated (+=), so parameter gradients add up across calls.</summary>
    public static unsafe void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> weight, ReadOnlySpan<T> invRms,
        Span<T> dx, Span<T> dWeight, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "RmsNorm.Backward";
        Check(op, x.Length, weight.Length, "dx", dx.Length, invRms.Length, rows, cols);
        KernelArgs.Length(op, "dy", dy.Length, (long)rows * cols, "rows·cols");
        KernelArgs.Length(op, "dWeight", dWeight.Length, cols, "cols");

        // dWeight sums over rows, so threads cannot share it: each part of the rows accumulates into its own
        // partial (cols), and the partials are added at the end. One part means no partial at all.
        long work = (long)rows * cols * 6;
        int parts = work < CpuParallel.MinParallelWork ? 1 : Math.Max(1, Math.Min(CpuParallel.MaxDegree, rows));
        T[]? partials = parts > 1 ? ArrayPool<T>.Shared.Rent(parts * cols) : null;
        try
        {
            fixed (T* pdy = dy, px = x, pw = weight, pr = invRms, pdx = dx, pdw = dWeight)
            fixed (T* pp = partials)
            {
                T* dys = pdy, xs = px, ws = pw, rs = pr, dxs = pdx, dws = pdw, ps = pp;
                CpuParallel.For(parts, work / parts, (first, last) =>
                {
                    for (int part = first; part < last; part++)
                    {
                        int r0 = (int)((long)rows * part / parts), r1 = (int)((long)rows * (part + 1) / parts);
                        var acc = new Span<T>(parts > 1 ? ps + (long)part * cols : dws, cols);
                        if (parts > 1) acc.Clear();
                        for (int r = r0; r < r1; r++)
                        {
                            long o = (long)r * cols;
                            BackwardRow(new ReadOnlySpan<T>(dys + o, cols), new ReadOnlySpan<T>(xs + o, cols),
                                new ReadOnlySpan<T>(ws, cols), rs[r], new Span<T>(dxs + o, cols), acc);
                        }
                    }
                });
            }
            for (int part = 0; part < parts && partials is not null; part++)
                TensorPrimitives.Add(dWeight, partials.AsSpan(part * cols, cols), dWeight);
        }
        finally
        {
            if (partials is not null) ArrayPool<T>.Shared.Return(partials);
        }
    }

    static void Check(string op, int x, int weight, string outName, int output, int invRms, int rows, int cols)
    {
        KernelArgs.NonNegative(op, "rows", rows);
        KernelArgs.Positive(op, "cols", cols);
        KernelArgs.Length(op, "x", x, (long)rows * cols, "rows·cols");
        KernelArgs.Length(op, "weight", weight, cols, "cols");
        KernelArgs.Length(op, outName, output, (long)rows * cols, "rows·cols");
        KernelArgs.Length(op, "invRms", invRms, rows, "rows");
    }

    static T ForwardRow<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, T eps)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = x.Length;
        T s = T.One / T.Sqrt(TensorPrimitives.SumOfSquares(x) / T.CreateChecked(n) + eps);
        ref T rx = ref MemoryMarshal.GetReference(x), rw = ref MemoryMarshal.GetReference(w), ry = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var vs = Vector256.Create(s);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref rx, (nuint)i) * vs * Vector256.LoadUnsafe(ref rw, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref ry, i) = Unsafe.Add(ref rx, i) * s * Unsafe.Add(ref rw, i);
        return s;
    }

    static void BackwardRow<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> w, T s, Span<T> dx, Span<T> dwAcc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = x.Length;
        ref T rdy = ref MemoryMarshal.GetReference(dy), rx = ref MemoryMarshal.GetReference(x), rw = ref MemoryMarshal.GetReference(w);
        ref T rdx = ref MemoryMarshal.GetReference(dx), racc = ref MemoryMarshal.GetReference(dwAcc);
        bool simd = Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported;
        int width = Vector256<T>.Count;

        // Pass 1: g·x = Σ dy·w·x, on two vector accumulators (fewer rounding steps than one scalar sum).
        T dot = T.Zero;
        int i = 0;
        if (simd)
        {
            Vector256<T> a0 = Vector256<T>.Zero, a1 = Vector256<T>.Zero;
            for (; i <= n - 2 * width; i += 2 * width)
            {
                a0 += Vector256.LoadUnsafe(ref rdy, (nuint)i) * Vector256.LoadUnsafe(ref rw, (nuint)i) * Vector256.LoadUnsafe(ref rx, (nuint)i);
                int j = i + width;
                a1 += Vector256.LoadUnsafe(ref rdy, (nuint)j) * Vector256.LoadUnsafe(ref rw, (nuint)j) * Vector256.LoadUnsafe(ref rx, (nuint)j);
            }
            dot = Vector256.Sum(a0 + a1);
        }
        for (; i < n; i++) dot += Unsafe.Add(ref rdy, i) * Unsafe.Add(ref rw, i) * Unsafe.Add(ref rx, i);

        // Pass 2 (row is cache-hot): dx = s·dy·w − x·c, and the weight gradient dy·x·s.
        T c = s * s * s * dot / T.CreateChecked(n);
        i = 0;
        if (simd)
        {
            Vector256<T> vs = Vector256.Create(s), vc = Vector256.Create(c);
            for (; i <= n - width; i += width)
            {
                var vdy = Vector256.LoadUnsafe(ref rdy, (nuint)i);
                var vx = Vector256.LoadUnsafe(ref rx, (nuint)i);
                (vs * vdy * Vector256.LoadUnsafe(ref rw, (nuint)i) - vx * vc).StoreUnsafe(ref rdx, (nuint)i);
                (Vector256.LoadUnsafe(ref racc, (nuint)i) + vdy * vx * vs).StoreUnsafe(ref racc, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T vdy = Unsafe.Add(ref rdy, i), vx = Unsafe.Add(ref rx, i);
            Unsafe.Add(ref rdx, i) = s * vdy * Unsafe.Add(ref rw, i) - vx * c;
            Unsafe.Add(ref racc, i) += vdy * vx * s;
        }
    }
}

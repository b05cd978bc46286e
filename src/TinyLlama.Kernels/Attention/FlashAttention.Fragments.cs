using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;

namespace TinyLlama.Kernels;

// Register fragments of the FlashAttention kernels, shared by forward and backward.

/// <summary>
/// Up to eight f32 values one thread holds in registers: a thread's columns of one row of S (forward) or of Sᵀ
/// (backward). ILGPU does not unroll loops, so every method is written out by hand; <c>count</c> is 4 or 8 and a
/// compile-time constant at every call (a property of the head-size shape), so the guarded half folds away.
/// Column u of the fragment is element <c>start + u·step</c> of the shared tile it pairs with.
/// </summary>
internal struct FlashRow8
{
    public float S0, S1, S2, S3, S4, S5, S6, S7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Clear() { S0 = 0f; S1 = 0f; S2 = 0f; S3 = 0f; S4 = 0f; S5 = 0f; S6 = 0f; S7 = 0f; }

    /// <summary>S_u += a · tile[start + u·step].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Fma(float a, ArrayView<float> tile, int start, int step, int count)
    {
        S0 += a * tile[start + 0 * step];
        S1 += a * tile[start + 1 * step];
        S2 += a * tile[start + 2 * step];
        S3 += a * tile[start + 3 * step];
        if (count > 4)
        {
            S4 += a * tile[start + 4 * step];
            S5 += a * tile[start + 5 * step];
            S6 += a * tile[start + 6 * step];
            S7 += a * tile[start + 7 * step];
        }
    }

    /// <summary>S_u ← c·S_u, or −∞ where the column first + u·step lies above <paramref name="limit"/> (the causal mask).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ScaleAndMask(float c, int first, int step, int limit, int count)
    {
        S0 = first + 0 * step <= limit ? S0 * c : float.NegativeInfinity;
        S1 = first + 1 * step <= limit ? S1 * c : float.NegativeInfinity;
        S2 = first + 2 * step <= limit ? S2 * c : float.NegativeInfinity;
        S3 = first + 3 * step <= limit ? S3 * c : float.NegativeInfinity;
        if (count > 4)
        {
            S4 = first + 4 * step <= limit ? S4 * c : float.NegativeInfinity;
            S5 = first + 5 * step <= limit ? S5 * c : float.NegativeInfinity;
            S6 = first + 6 * step <= limit ? S6 * c : float.NegativeInfinity;
            S7 = first + 7 * step <= limit ? S7 * c : float.NegativeInfinity;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Scale(float c, int count)
    {
        S0 *= c;
        S1 *= c;
        S2 *= c;
        S3 *= c;
        if (count > 4)
        {
            S4 *= c;
            S5 *= c;
            S6 *= c;
            S7 *= c;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Max(int count)
    {
        float m = XMath.Max(XMath.Max(S0, S1), XMath.Max(S2, S3));
        if (count > 4) m = XMath.Max(m, XMath.Max(XMath.Max(S4, S5), XMath.Max(S6, S7)));
        return m;
    }

    /// <summary>S_u ← 2^(S_u − m); returns Σ_u S_u. A masked −∞ becomes exactly 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Exp2Minus(float m, int count)
    {
        S0 = XMath.Exp2(S0 - m);
        S1 = XMath.Exp2(S1 - m);
        S2 = XMath.Exp2(S2 - m);
        S3 = XMath.Exp2(S3 - m);
        float sum = (S0 + S1) + (S2 + S3);
        if (count > 4)
        {
            S4 = XMath.Exp2(S4 - m);
            S5 = XMath.Exp2(S5 - m);
            S6 = XMath.Exp2(S6 - m);
            S7 = XMath.Exp2(S7 - m);
            sum += (S4 + S5) + (S6 + S7);
        }
        return sum;
    }

    /// <summary>
    /// Backward, with this = Sᵀ (unscaled) and <paramref name="dp"/> = dPᵀ for one key row and the thread's query columns
    /// i_u = first + u·step: this ← P = 2^(c·S − lse2_i) where i_u ≥ <paramref name="limit"/> (causal), else 0;
    /// dp ← dS = P ∘ (dP − D_i). <paramref name="lse2"/> holds LSE·log₂e per query row of the tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ProbsAndScores(ref FlashRow8 dp, ArrayView<float> lse2, ArrayView<float> delta, float c, int first, int step, int limit, int count)
    {
        S0 = first + 0 * step >= limit ? XMath.Exp2(S0 * c - lse2[first + 0 * step]) : 0f;
        dp.S0 = S0 * (dp.S0 - delta[first + 0 * step]);
        S1 = first + 1 * step >= limit ? XMath.Exp2(S1 * c - lse2[first + 1 * step]) : 0f;
        dp.S1 = S1 * (dp.S1 - delta[first + 1 * step]);
        S2 = first + 2 * step >= limit ? XMath.Exp2(S2 * c - lse2[first + 2 * step]) : 0f;
        dp.S2 = S2 * (dp.S2 - delta[first + 2 * step]);
        S3 = first + 3 * step >= limit ? XMath.Exp2(S3 * c - lse2[first + 3 * step]) : 0f;
        dp.S3 = S3 * (dp.S3 - delta[first + 3 * step]);
        if (count > 4)
        {
            S4 = first + 4 * step >= limit ? XMath.Exp2(S4 * c - lse2[first + 4 * step]) : 0f;
            dp.S4 = S4 * (dp.S4 - delta[first + 4 * step]);
            S5 = first + 5 * step >= limit ? XMath.Exp2(S5 * c - lse2[first + 5 * step]) : 0f;
            dp.S5 = S5 * (dp.S5 - delta[first + 5 * step]);
            S6 = first + 6 * step >= limit ? XMath.Exp2(S6 * c - lse2[first + 6 * step]) : 0f;
            dp.S6 = S6 * (dp.S6 - delta[first + 6 * step]);
            S7 = first + 7 * step >= limit ? XMath.Exp2(S7 * c - lse2[first + 7 * step]) : 0f;
            dp.S7 = S7 * (dp.S7 - delta[first + 7 * step]);
        }
    }

    /// <summary>tile[start + u·step] = S_u.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Store(ArrayView<float> tile, int start, int step, int count)
    {
        tile[start + 0 * step] = S0;
        tile[start + 1 * step] = S1;
        tile[start + 2 * step] = S2;
        tile[start + 3 * step] = S3;
        if (count > 4)
        {
            tile[start + 4 * step] = S4;
            tile[start + 5 * step] = S5;
            tile[start + 6 * step] = S6;
            tile[start + 7 * step] = S7;
        }
    }
}

/// <summary>
/// Sixteen f32 accumulators one thread holds in registers: its columns d_u = start + u·step of one row of O (forward)
/// or of dK and dV (backward). Written out by hand because ILGPU does not unroll loops.
/// </summary>
internal struct FlashAcc16
{
    public float A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Clear()
    {
        A0 = 0f; A1 = 0f; A2 = 0f; A3 = 0f;
        A4 = 0f; A5 = 0f; A6 = 0f; A7 = 0f;
        A8 = 0f; A9 = 0f; A10 = 0f; A11 = 0f;
        A12 = 0f; A13 = 0f; A14 = 0f; A15 = 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Scale(float c)
    {
        A0 *= c; A1 *= c; A2 *= c; A3 *= c;
        A4 *= c; A5 *= c; A6 *= c; A7 *= c;
        A8 *= c; A9 *= c; A10 *= c; A11 *= c;
        A12 *= c; A13 *= c; A14 *= c; A15 *= c;
    }

    /// <summary>A_u += a · tile[start + u·step].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Fma(float a, ArrayView<float> tile, int start, int step)
    {
        A0 += a * tile[start + 0 * step];
        A1 += a * tile[start + 1 * step];
        A2 += a * tile[start + 2 * step];
        A3 += a * tile[start + 3 * step];
        A4 += a * tile[start + 4 * step];
        A5 += a * tile[start + 5 * step];
        A6 += a * tile[start + 6 * step];
        A7 += a * tile[start + 7 * step];
        A8 += a * tile[start + 8 * step];
        A9 += a * tile[start + 9 * step];
        A10 += a * tile[start + 10 * step];
        A11 += a * tile[start + 11 * step];
        A12 += a * tile[start + 12 * step];
        A13 += a * tile[start + 13 * step];
        A14 += a * tile[start + 14 * step];
        A15 += a * tile[start + 15 * step];
    }

    /// <summary>destination[start + u·step] = narrow(c · A_u).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Store<T, TElement>(ArrayView<T> destination, long start, int step, float c)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var e = default(TElement);
        destination[start + 0 * step] = e.Narrow(c * A0);
        destination[start + 1 * step] = e.Narrow(c * A1);
        destination[start + 2 * step] = e.Narrow(c * A2);
        destination[start + 3 * step] = e.Narrow(c * A3);
        destination[start + 4 * step] = e.Narrow(c * A4);
        destination[start + 5 * step] = e.Narrow(c * A5);
        destination[start + 6 * step] = e.Narrow(c * A6);
        destination[start + 7 * step] = e.Narrow(c * A7);
        destination[start + 8 * step] = e.Narrow(c * A8);
        destination[start + 9 * step] = e.Narrow(c * A9);
        destination[start + 10 * step] = e.Narrow(c * A10);
        destination[start + 11 * step] = e.Narrow(c * A11);
        destination[start + 12 * step] = e.Narrow(c * A12);
        destination[start + 13 * step] = e.Narrow(c * A13);
        destination[start + 14 * step] = e.Narrow(c * A14);
        destination[start + 15 * step] = e.Narrow(c * A15);
    }
}

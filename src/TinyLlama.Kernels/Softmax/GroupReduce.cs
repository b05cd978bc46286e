using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Reductions across one group, for the row-wise GPU kernels (RMSNorm, softmax, cross-entropy): a butterfly of
/// <c>Warp.ShuffleXor</c> inside each warp (5 steps for warp 32), one value per warp through shared memory, then every
/// warp reduces the per-warp values again with shuffles, so every thread of the group ends with the total (an
/// all-reduce: no broadcast step). Two barriers per call; the second lets the caller reuse the scratch at once.
/// The combination order is fixed by the group size, so results are deterministic run to run.
/// Called from kernels only; the caller allocates the scratch with <c>SharedMemory.Allocate&lt;float&gt;(ScratchLength)</c>.
/// Requires warp 32 (every NVIDIA GPU and <c>CPUDevice.Nvidia</c>) and a group size that is a multiple of 32, at most 1024:
/// launchers check that with <see cref="RequireWarp32"/>.
/// </summary>
internal static class GroupReduce
{
    public const int WarpSize = 32;

    /// <summary>Floats of shared scratch: two per warp of a 1024-thread group (the max-and-sum pair needs two).</summary>
    public const int ScratchLength = 64;

    /// <summary>Σ over the warp, in every lane.</summary>
    public static float WarpSum(float v)
    {
        v += Warp.ShuffleXor(v, 16);
        v += Warp.ShuffleXor(v, 8);
        v += Warp.ShuffleXor(v, 4);
        v += Warp.ShuffleXor(v, 2);
        v += Warp.ShuffleXor(v, 1);
        return v;
    }

    /// <summary>Σ over the group, in every thread.</summary>
    public static float Sum(float v, ArrayView<float> scratch)
    {
        v = WarpSum(v);
        int lane = Group.IdxX & (WarpSize - 1), warp = Group.IdxX / WarpSize;
        if (lane == 0) scratch[warp] = v;
        Group.Barrier();
        float t = lane < Group.DimX / WarpSize ? scratch[lane] : 0f;
        t = WarpSum(t);
        Group.Barrier();
        return t;
    }

    /// <summary>
    /// The online-softmax pair of the group: every thread brings (m, s) with s = Σ exp(xᵢ − m) over its elements and
    /// gets back the group's (M, S) with S = Σ exp(xᵢ − M), M the group max. A thread with no element brings
    /// (<see cref="NoMax"/>, 0). Combining (a, b): M = max(mₐ, m_b), S = sₐ·exp(mₐ − M) + s_b·exp(m_b − M).
    /// </summary>
    public static MaxSum MaxSumExp(MaxSum v, ArrayView<float> scratch)
    {
        v = WarpMaxSum(v);
        int lane = Group.IdxX & (WarpSize - 1), warp = Group.IdxX / WarpSize;
        if (lane == 0)
        {
            scratch[warp] = v.Max;
            scratch[WarpSize + warp] = v.Sum;
        }
        Group.Barrier();
        var t = lane < Group.DimX / WarpSize ? new MaxSum(scratch[lane], scratch[WarpSize + lane]) : new MaxSum(NoMax, 0f);
        t = WarpMaxSum(t);
        Group.Barrier();
        return t;
    }

    /// <summary>
    /// The running max a thread starts from: the most negative finite float rather than −∞, so that exp(m − M) is
    /// exp(0) = 1 times a zero sum when nothing was seen, never exp(−∞ + ∞) = NaN. A −∞ input still gives exp(−∞) = 0.
    /// </summary>
    public const float NoMax = float.MinValue;

    /// <summary>Adds one element to a thread's online pair: a new max rescales the running sum.</summary>
    public static MaxSum Add(MaxSum a, float x)
    {
        if (x > a.Max) return new MaxSum(x, a.Sum * MathF.Exp(a.Max - x) + 1f);
        return new MaxSum(a.Max, a.Sum + MathF.Exp(x - a.Max));
    }

    public static MaxSum Combine(MaxSum a, MaxSum b)
    {
        float m = MathF.Max(a.Max, b.Max);
        return new MaxSum(m, a.Sum * MathF.Exp(a.Max - m) + b.Sum * MathF.Exp(b.Max - m));
    }

    static MaxSum WarpMaxSum(MaxSum v)
    {
        v = Combine(v, new MaxSum(Warp.ShuffleXor(v.Max, 16), Warp.ShuffleXor(v.Sum, 16)));
        v = Combine(v, new MaxSum(Warp.ShuffleXor(v.Max, 8), Warp.ShuffleXor(v.Sum, 8)));
        v = Combine(v, new MaxSum(Warp.ShuffleXor(v.Max, 4), Warp.ShuffleXor(v.Sum, 4)));
        v = Combine(v, new MaxSum(Warp.ShuffleXor(v.Max, 2), Warp.ShuffleXor(v.Sum, 2)));
        v = Combine(v, new MaxSum(Warp.ShuffleXor(v.Max, 1), Warp.ShuffleXor(v.Sum, 1)));
        return v;
    }

    /// <summary>Threads per row-kernel group on the CPU accelerator: two warps, so the cross-warp step still runs.</summary>
    public const int CpuGroupSize = 64;

    /// <summary>
    /// The group size a row launcher uses: <paramref name="gpuGroupSize"/> on a GPU, <see cref="CpuGroupSize"/> on the CPU
    /// accelerator, which runs every simulated lane on an OS thread and pays for each barrier with thread switches.
    /// The kernels read <c>Group.DimX</c>, so one body is right for any multiple of 32 up to 1024; the tests also run
    /// each row kernel once at its GPU group size.
    /// </summary>
    public static int RowGroupSize(Accelerator accelerator, int gpuGroupSize) =>
        accelerator.AcceleratorType == AcceleratorType.Cuda ? gpuGroupSize : CpuGroupSize;

    /// <summary>Host check of a row kernel's group size: a multiple of the warp, at most 1024 (the scratch holds 32 warps).</summary>
    public static void RequireGroupSize(int groupSize, string launcher)
    {
        if (groupSize <= 0 || groupSize % WarpSize != 0 || groupSize > 1024)
            throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize,
                $"{launcher}: groupSize must be a multiple of {WarpSize} in [32, 1024], got {groupSize}");
    }

    /// <summary>Host check before loading row-wise kernels: they assume warp 32.</summary>
    public static void RequireWarp32(Accelerator accelerator, string launcher)
    {
        if (accelerator.WarpSize != WarpSize)
            throw new NotSupportedException(
                $"{launcher}: the row-wise kernels need warp size {WarpSize}, the accelerator has {accelerator.WarpSize} (use CPUDevice.Nvidia on the CPU)");
    }
}

/// <summary>A running max and the sum of exp(x − max) over the elements seen (online softmax).</summary>
internal readonly struct MaxSum(float max, float sum)
{
    public float Max { get; } = max;
    public float Sum { get; } = sum;
}

using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Device helpers: reductions across a warp and across a whole group, for kernels of any op (shared by the row-wise
/// and two-pass reductions, the gradient norm and anything else that needs them). A group is 1-D, a multiple of 32
/// threads and at most 1024, and every thread of the group must call the helper (it contains barriers and shuffles).
/// The order of the additions is fixed by the thread layout, so results are deterministic run to run.
/// </summary>
public static class GroupReduce
{
    /// <summary>
    /// Threads per group for the row-wise and reduction kernels: 256 on a GPU; 64 (two warps, so the cross-warp path
    /// still runs) on the CPU accelerator, where every simulated lane is an OS thread and barriers are expensive.
    /// </summary>
    public static int GroupSize(Accelerator accelerator) => RowGroupSize(accelerator, 256);

    /// <summary>Butterfly sum over the 32 lanes of a warp, hand-unrolled: every lane ends with the total.</summary>
    public static float WarpSum(float value)
    {
        value += Warp.ShuffleXor(value, 16);
        value += Warp.ShuffleXor(value, 8);
        value += Warp.ShuffleXor(value, 4);
        value += Warp.ShuffleXor(value, 2);
        value += Warp.ShuffleXor(value, 1);
        return value;
    }

    /// <summary>Butterfly maximum over the 32 lanes of a warp: every lane ends with the maximum.</summary>
    public static float WarpMax(float value)
    {
        value = Max(value, Warp.ShuffleXor(value, 16));
        value = Max(value, Warp.ShuffleXor(value, 8));
        value = Max(value, Warp.ShuffleXor(value, 4));
        value = Max(value, Warp.ShuffleXor(value, 2));
        value = Max(value, Warp.ShuffleXor(value, 1));
        return value;
    }

    /// <summary>
    /// The sum of <paramref name="value"/> over the group, returned to every thread: a warp butterfly, one partial
    /// per warp in shared memory, then every warp reduces the (at most 32) partials the same way, which broadcasts
    /// the total without a second round through shared memory. Two barriers; the trailing one lets a caller call
    /// it again in a loop.
    /// </summary>
    public static float Sum(float value)
    {
        var partials = SharedMemory.Allocate<float>(32);
        value = WarpSum(value);
        if (Warp.LaneIdx == 0) partials[Group.IdxX / Warp.WarpSize] = value;
        Group.Barrier();
        int warps = Group.DimX / Warp.WarpSize;
        float total = Warp.LaneIdx < warps ? partials[Warp.LaneIdx] : 0f;
        total = WarpSum(total);
        Group.Barrier();
        return total;
    }

    /// <summary>The maximum of <paramref name="value"/> over the group, returned to every thread (as <see cref="Sum"/>).</summary>
    public static float Max(float value)
    {
        var partials = SharedMemory.Allocate<float>(32);
        value = WarpMax(value);
        if (Warp.LaneIdx == 0) partials[Group.IdxX / Warp.WarpSize] = value;
        Group.Barrier();
        int warps = Group.DimX / Warp.WarpSize;
        float total = Warp.LaneIdx < warps ? partials[Warp.LaneIdx] : float.NegativeInfinity;
        total = WarpMax(total);
        Group.Barrier();
        return total;
    }

    /// <summary>max that propagates NaN (as torch.max does): a NaN anywhere makes the result NaN.</summary>
    public static float Max(float a, float b) => a > b || float.IsNaN(a) ? a : b;

    // Row-kernel helpers (RMSNorm, softmax, cross-entropy): an explicit scratch, the online-softmax pair, host checks.

    public const int WarpSize = 32;

    /// <summary>Floats of shared scratch: two per warp of a 1024-thread group (the max-and-sum pair needs two).</summary>
    public const int ScratchLength = 64;

    /// <summary>Σ over the group, in every thread, through a caller-allocated scratch of <see cref="ScratchLength"/> floats.</summary>
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
public readonly struct MaxSum(float max, float sum)
{
    public float Max { get; } = max;
    public float Sum { get; } = sum;
}

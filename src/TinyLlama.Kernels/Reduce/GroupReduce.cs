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
    public static int GroupSize(Accelerator accelerator) => accelerator.AcceleratorType == AcceleratorType.Cuda ? 256 : 64;

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
}

using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Fused cross-entropy on the GPU, split as the CPU version <see cref="CrossEntropy"/> is: forward computes the
/// per-row log-sum-exp and loss from the logits, backward writes the logit gradient straight from the saved
/// log-sum-exp — the probabilities are never materialised. logits and dLogits (rows, vocab) are in the storage type;
/// targets (rows) int; logSumExp and the per-row losses (rows) are always f32 (a bf16 log-sum-exp would put a ~0.4 %
/// error into every probability). loss_r = lse_r − logits_r[target_r]; rows whose target is ignoreIndex (−100 by
/// convention) count for nothing; the mean is over the rows that are not ignored, 0 when every row is.
/// <para>
/// Forward kernel: one group of <see cref="CrossEntropyGpu.GpuGroupSize"/> threads per row, one online pass over the
/// vocab (running max and rescaled Σexp per thread, two independent pairs hand-unrolled; the group combines them with
/// <see cref="GroupReduce.MaxSumExp"/>); thread 0 stores lse and the row loss. Traffic: the logits read once — 4 bytes
/// per element in f32, 2 in bf16. Mean kernel: one group sums the row losses and counts the rows that are not ignored,
/// in a fixed order, and writes the mean and the count to device memory (no host round trip).
/// Backward kernel: one group per row, no reduction: dLogits_i = (exp(x_i − lse) − [i = target])·scale, 0 for an
/// ignored row. Logits read once and dLogits written once — 8 bytes per element in f32, 4 in bf16; each element is
/// read and written by the same thread, so dLogits may alias logits (overwrite the logits in place, as llm.c does).
/// The scale is dLoss/count (the mean's gradient), either from the host or read on the device from the count the
/// forward wrote. Fusing forward and backward into one kernel would save no traffic (it must still read the row
/// twice: once for the statistics, once for the gradient), so the kernels follow the CPU split.
/// </para>
/// <para>
/// A GPU kernel cannot throw: a target outside [0, vocab) that is not ignoreIndex makes that row's loss (and so the
/// mean) NaN and its gradient row NaN, where the CPU version throws. Validate targets on the host where they come from.
/// </para>
/// </summary>
public static class CrossEntropyKernels
{
    /// <summary>One group per row: logSumExp[r] and rowLoss[r] (0 for an ignored row, NaN for an invalid target).</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Forward<T, TElement>(ArrayView<T> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        ArrayView<float> rowLoss, int rows, int vocab, int ignoreIndex)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.ScratchLength);
        int row = Grid.IdxX;
        if (row >= rows) return; // uniform across the group
        TElement e = default;
        long o = (long)row * vocab;
        int tid = Group.IdxX, n = Group.DimX;

        var p0 = new MaxSum(GroupReduce.NoMax, 0f);
        var p1 = p0;
        int i = tid;
        for (; i + n < vocab; i += 2 * n)
        {
            p0 = GroupReduce.Add(p0, e.Widen(logits[o + i]));
            p1 = GroupReduce.Add(p1, e.Widen(logits[o + i + n]));
        }
        if (i < vocab) p0 = GroupReduce.Add(p0, e.Widen(logits[o + i]));
        var total = GroupReduce.MaxSumExp(GroupReduce.Combine(p0, p1), scratch);

        if (tid == 0)
        {
            float lse = total.Max + MathF.Log(total.Sum);
            logSumExp[row] = lse;
            int target = targets[row];
            float loss = 0f;
            if (target != ignoreIndex)
                loss = target >= 0 && target < vocab ? lse - e.Widen(logits[o + target]) : float.NaN;
            rowLoss[row] = loss;
        }
    }

    /// <summary>One group: meanLoss[0] = Σ rowLoss over rows not ignored / their count (0 if none), count[0] = that count.</summary>
    [GpuKernel]
    public static void Mean(ArrayView<float> rowLoss, ArrayView<int> targets, ArrayView<float> meanLoss, ArrayView<int> count,
        int rows, int ignoreIndex)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.ScratchLength);
        int tid = Group.IdxX, n = Group.DimX;
        float sum = 0f, counted = 0f; // a float count is exact up to 2²⁴ rows
        for (int r = tid; r < rows; r += n)
        {
            if (targets[r] == ignoreIndex) continue;
            sum += rowLoss[r];
            counted += 1f;
        }
        sum = GroupReduce.Sum(sum, scratch);
        counted = GroupReduce.Sum(counted, scratch);
        if (tid == 0)
        {
            meanLoss[0] = counted > 0f ? sum / counted : 0f;
            count[0] = (int)counted;
        }
    }

    /// <summary>One group per row: dLogits = (softmax − onehot)·gradScale, 0 for an ignored row.</summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void Backward<T, TElement>(ArrayView<T> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        ArrayView<T> dLogits, float gradScale, int rows, int vocab, int ignoreIndex)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        int row = Grid.IdxX;
        if (row < rows) BackwardRow<T, TElement>(logits, targets, logSumExp, dLogits, gradScale, row, vocab, ignoreIndex);
    }

    /// <summary>
    /// <see cref="Backward{T, TElement}"/> with the scale read on the device: dLoss[0] / count[0] (0 when the count is
    /// 0), count as written by <see cref="Mean"/> — no host synchronisation between forward and backward.
    /// </summary>
    [GpuKernel(typeof(float), typeof(F32Element))]
    [GpuKernel(typeof(ushort), typeof(Bf16Element))]
    public static void BackwardDeviceScale<T, TElement>(ArrayView<T> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        ArrayView<T> dLogits, ArrayView<float> dLoss, ArrayView<int> count, int rows, int vocab, int ignoreIndex)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        int row = Grid.IdxX;
        if (row >= rows) return;
        int c = count[0];
        float scale = c > 0 ? dLoss[0] / c : 0f;
        BackwardRow<T, TElement>(logits, targets, logSumExp, dLogits, scale, row, vocab, ignoreIndex);
    }

    static void BackwardRow<T, TElement>(ArrayView<T> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        ArrayView<T> dLogits, float scale, int row, int vocab, int ignoreIndex)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        TElement e = default;
        long o = (long)row * vocab;
        int tid = Group.IdxX, n = Group.DimX;
        int target = targets[row];
        if (target == ignoreIndex)
        {
            T zero = e.Narrow(0f);
            for (int i = tid; i < vocab; i += n) dLogits[o + i] = zero;
            return;
        }
        // An invalid target poisons the row (NaN) rather than reading out of bounds.
        float lse = target >= 0 && target < vocab ? logSumExp[row] : float.NaN;
        for (int i = tid; i < vocab; i += n)
        {
            float p = MathF.Exp(e.Widen(logits[o + i]) - lse);
            dLogits[o + i] = e.Narrow((i == target ? p - 1f : p) * scale);
        }
    }
}

/// <summary>
/// Launches the cross-entropy kernels on one accelerator. Lengths are checked on the host before any launch; the
/// targets live on the device and are not read back (see <see cref="CrossEntropyKernels"/> for invalid targets).
/// </summary>
public sealed class CrossEntropyGpu
{
    /// <summary>Threads per row (vocab 32000: 62–63 elements a thread).</summary>
    public const int GpuGroupSize = 512;

    /// <summary>Threads per group of this launcher: <see cref="GpuGroupSize"/> on a GPU, fewer on the CPU accelerator (<see cref="GroupReduce.RowGroupSize"/>).</summary>
    public int GroupSize { get; }

    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int> forwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int> forwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int> mean;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, float, int, int, int> backwardF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<int>, ArrayView<float>, ArrayView<ushort>, float, int, int, int> backwardBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int> backwardDeviceF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<int>, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, ArrayView<int>, int, int, int> backwardDeviceBf16;

    public CrossEntropyGpu(Accelerator accelerator) : this(accelerator, GroupReduce.RowGroupSize(accelerator, GpuGroupSize)) { }

    /// <summary>A launcher with an explicit group size (a multiple of 32, at most 1024), e.g. to test the GPU shape on the CPU.</summary>
    internal CrossEntropyGpu(Accelerator accelerator, int groupSize)
    {
        GroupReduce.RequireWarp32(accelerator, nameof(CrossEntropyGpu));
        GroupReduce.RequireGroupSize(groupSize, nameof(CrossEntropyGpu));
        GroupSize = groupSize;
        forwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>(
            CrossEntropyKernels.Forward<float, F32Element>);
        forwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>(
            CrossEntropyKernels.Forward<ushort, Bf16Element>);
        mean = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int>(CrossEntropyKernels.Mean);
        backwardF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, float, int, int, int>(
            CrossEntropyKernels.Backward<float, F32Element>);
        backwardBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<int>, ArrayView<float>, ArrayView<ushort>, float, int, int, int>(
            CrossEntropyKernels.Backward<ushort, Bf16Element>);
        backwardDeviceF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(
            CrossEntropyKernels.BackwardDeviceScale<float, F32Element>);
        backwardDeviceBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<int>, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, ArrayView<int>, int, int, int>(
            CrossEntropyKernels.BackwardDeviceScale<ushort, Bf16Element>);
    }

    /// <summary>
    /// Writes logSumExp and rowLoss (rows, f32), then meanLoss[0] (the mean over rows not ignored, 0 if none) and
    /// count[0] (those rows) — the CPU Forward's return value and out parameter, left on the device.
    /// </summary>
    public void Forward(AcceleratorStream stream, ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        ArrayView<float> rowLoss, ArrayView<float> meanLoss, ArrayView<int> count, int rows, int vocab, int ignoreIndex)
    {
        CheckForward(logits.Length, targets.Length, logSumExp.Length, rowLoss.Length, meanLoss.Length, count.Length, rows, vocab);
        if (rows > 0) forwardF32(stream, GpuLaunch.PerRow(rows, GroupSize), logits, targets, logSumExp, rowLoss, rows, vocab, ignoreIndex);
        mean(stream, new KernelConfig(1, Math.Min(GroupSize, 256)), rowLoss, targets, meanLoss, count, rows, ignoreIndex);
    }

    /// <inheritdoc cref="Forward(AcceleratorStream, ArrayView{float}, ArrayView{int}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{int}, int, int, int)"/>
    public void Forward(AcceleratorStream stream, ArrayView<ushort> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        ArrayView<float> rowLoss, ArrayView<float> meanLoss, ArrayView<int> count, int rows, int vocab, int ignoreIndex)
    {
        CheckForward(logits.Length, targets.Length, logSumExp.Length, rowLoss.Length, meanLoss.Length, count.Length, rows, vocab);
        if (rows > 0) forwardBf16(stream, GpuLaunch.PerRow(rows, GroupSize), logits, targets, logSumExp, rowLoss, rows, vocab, ignoreIndex);
        mean(stream, new KernelConfig(1, Math.Min(GroupSize, 256)), rowLoss, targets, meanLoss, count, rows, ignoreIndex);
    }

    /// <summary>
    /// dLogits = (softmax(logits) − onehot(target))·gradScale per row, 0 for ignored rows, written (=); for the mean
    /// loss gradScale = dLoss / count. dLogits may be logits (in place).
    /// </summary>
    public void Backward(AcceleratorStream stream, ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        float gradScale, ArrayView<float> dLogits, int rows, int vocab, int ignoreIndex)
    {
        CheckBackward(logits.Length, targets.Length, logSumExp.Length, dLogits.Length, rows, vocab);
        if (rows > 0) backwardF32(stream, GpuLaunch.PerRow(rows, GroupSize), logits, targets, logSumExp, dLogits, gradScale, rows, vocab, ignoreIndex);
    }

    /// <inheritdoc cref="Backward(AcceleratorStream, ArrayView{float}, ArrayView{int}, ArrayView{float}, float, ArrayView{float}, int, int, int)"/>
    public void Backward(AcceleratorStream stream, ArrayView<ushort> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        float gradScale, ArrayView<ushort> dLogits, int rows, int vocab, int ignoreIndex)
    {
        CheckBackward(logits.Length, targets.Length, logSumExp.Length, dLogits.Length, rows, vocab);
        if (rows > 0) backwardBf16(stream, GpuLaunch.PerRow(rows, GroupSize), logits, targets, logSumExp, dLogits, gradScale, rows, vocab, ignoreIndex);
    }

    /// <summary>
    /// The same with the scale taken on the device: dLoss[0] / count[0] (0 when count is 0), count being what
    /// <see cref="Forward(AcceleratorStream, ArrayView{float}, ArrayView{int}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{int}, int, int, int)"/>
    /// wrote, so forward and backward run without a host synchronisation.
    /// </summary>
    public void Backward(AcceleratorStream stream, ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        ArrayView<float> dLoss, ArrayView<int> count, ArrayView<float> dLogits, int rows, int vocab, int ignoreIndex)
    {
        CheckBackward(logits.Length, targets.Length, logSumExp.Length, dLogits.Length, rows, vocab);
        CheckScalars(dLoss.Length, count.Length);
        if (rows > 0)
            backwardDeviceF32(stream, GpuLaunch.PerRow(rows, GroupSize), logits, targets, logSumExp, dLogits, dLoss, count, rows, vocab, ignoreIndex);
    }

    /// <inheritdoc cref="Backward(AcceleratorStream, ArrayView{float}, ArrayView{int}, ArrayView{float}, ArrayView{float}, ArrayView{int}, ArrayView{float}, int, int, int)"/>
    public void Backward(AcceleratorStream stream, ArrayView<ushort> logits, ArrayView<int> targets, ArrayView<float> logSumExp,
        ArrayView<float> dLoss, ArrayView<int> count, ArrayView<ushort> dLogits, int rows, int vocab, int ignoreIndex)
    {
        CheckBackward(logits.Length, targets.Length, logSumExp.Length, dLogits.Length, rows, vocab);
        CheckScalars(dLoss.Length, count.Length);
        if (rows > 0)
            backwardDeviceBf16(stream, GpuLaunch.PerRow(rows, GroupSize), logits, targets, logSumExp, dLogits, dLoss, count, rows, vocab, ignoreIndex);
    }

    static void CheckForward(long logits, long targets, long lse, long rowLoss, long meanLoss, long count, int rows, int vocab)
    {
        const string op = "CrossEntropyGpu.Forward";
        CheckShape(op, logits, targets, lse, rows, vocab);
        KernelArgs.Length(op, "rowLoss", rowLoss, rows, "rows");
        KernelArgs.Length(op, "meanLoss", meanLoss, 1, "1");
        KernelArgs.Length(op, "count", count, 1, "1");
    }

    static void CheckBackward(long logits, long targets, long lse, long dLogits, int rows, int vocab)
    {
        const string op = "CrossEntropyGpu.Backward";
        CheckShape(op, logits, targets, lse, rows, vocab);
        KernelArgs.Length(op, "dLogits", dLogits, (long)rows * vocab, "rows·vocab");
    }

    static void CheckScalars(long dLoss, long count)
    {
        KernelArgs.Length("CrossEntropyGpu.Backward", "dLoss", dLoss, 1, "1");
        KernelArgs.Length("CrossEntropyGpu.Backward", "count", count, 1, "1");
    }

    static void CheckShape(string op, long logits, long targets, long lse, int rows, int vocab)
    {
        KernelArgs.NonNegative(op, "rows", rows);
        KernelArgs.Positive(op, "vocab", vocab);
        KernelArgs.Length(op, "logits", logits, (long)rows * vocab, "rows·vocab");
        KernelArgs.Length(op, "targets", targets, rows, "rows");
        KernelArgs.Length(op, "logSumExp", lse, rows, "rows");
    }
}

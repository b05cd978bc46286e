using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal static partial class GpuFunctional
{
    /// <summary>
    /// Mean cross-entropy on the device: logits (…, V) f32 or bf16, i32 targets (…) on the same device. The loss is
    /// an f32 scalar on the device for either logits dtype; the count of targets not ignored stays on the device too,
    /// so neither forward nor backward synchronises with the host. An out-of-range target is not detected (the
    /// targets are never read back): it makes the loss NaN.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, int ignoreIndex)
    {
        const string op = "cross_entropy";
        var dtype = OpChecks.GpuInputs(op, logits);
        ArgumentNullException.ThrowIfNull(targets, op);
        OpChecks.SameDevice(op, logits, targets);
        OpChecks.GpuIndices(op, "targets", targets, logits.Device);
        var (rows, vocab) = Functional.CrossEntropyShape(logits, targets);
        using var lc = logits.CopyIfStrided();
        using var tc = targets.CopyIfStrided();
        using var lse = Gpu.Empty(logits, [rows], DType.F32);
        using var rowLoss = Gpu.Empty(logits, [rows], DType.F32);
        using var count = Gpu.Empty(logits, [1], DType.I32);
        var loss = Gpu.Empty(logits, [], DType.F32);
        var kernels = Gpu.Kernels<CrossEntropyGpu>(logits);
        var stream = Gpu.Stream(logits);
        if (dtype == DType.F32)
            kernels.Forward(stream, Gpu.F32(lc), Gpu.I32(tc), Gpu.F32(lse), Gpu.F32(rowLoss), Gpu.F32(loss), Gpu.I32(count), rows, vocab, ignoreIndex);
        else
            kernels.Forward(stream, Gpu.Bf16(lc), Gpu.I32(tc), Gpu.F32(lse), Gpu.F32(rowLoss), Gpu.F32(loss), Gpu.I32(count), rows, vocab, ignoreIndex);
        return Autograd.Record(loss, new GpuCrossEntropyFunction(lc, tc, lse, count, rows, vocab, ignoreIndex), logits);
    }
}

/// <summary>
/// Cross-entropy backward on the device: dLogits = (softmax − onehot)·g/count in the logits' dtype, with g (the f32
/// loss gradient) and count (written by forward) read by the kernel, not by the host. The output is f32 while the
/// input may be bf16: the gradient follows the input.
/// </summary>
internal sealed class GpuCrossEntropyFunction : Function
{
    private readonly Tensor _logits, _targets, _lse, _count;
    private readonly int _rows, _vocab, _ignoreIndex;

    public GpuCrossEntropyFunction(Tensor logits, Tensor targets, Tensor lse, Tensor count, int rows, int vocab, int ignoreIndex)
        => (_logits, _targets, _lse, _count, _rows, _vocab, _ignoreIndex) = (Save(logits), Save(targets), Save(lse), Save(count), rows, vocab, ignoreIndex);

    public override string Name => "cross_entropy";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        if (g.DType != DType.F32 || g.Device != _logits.Device)
            throw new ArgumentException($"{Name} backward: gradient is {g.DType.Name()} on {g.Device}; expected the f32 loss's gradient on {_logits.Device}");
        using var gc = g.CopyIfStrided();
        var dLogits = Gpu.EmptyLike(_logits);
        var kernels = Gpu.Kernels<CrossEntropyGpu>(_logits);
        var stream = Gpu.Stream(_logits);
        if (_logits.DType == DType.F32)
            kernels.Backward(stream, Gpu.F32(_logits), Gpu.I32(_targets), Gpu.F32(_lse), Gpu.F32(gc), Gpu.I32(_count), Gpu.F32(dLogits), _rows, _vocab, _ignoreIndex);
        else
            kernels.Backward(stream, Gpu.Bf16(_logits), Gpu.I32(_targets), Gpu.F32(_lse), Gpu.F32(gc), Gpu.I32(_count), Gpu.Bf16(dLogits), _rows, _vocab, _ignoreIndex);
        return [dLogits];
    }
}

using System.Numerics;
using System.Numerics.Tensors;

namespace TinyLlama.Kernels;

/// <summary>
/// Fused cross-entropy over logits (rows, vocab) with integer targets (rows):
/// loss_r = logsumexp(logits_r) − logits_r[target_r]; the result is the mean over rows whose target is not ignoreIndex.
/// The probabilities are never stored: backward recomputes them from the saved log-sum-exp.
/// </summary>
public static partial class CrossEntropy
{
    /// <summary>
    /// Returns the mean loss (0 when every row is ignored) and writes logSumExp (rows) and count (rows counted).
    /// Throws ArgumentOutOfRangeException naming the row when a target is outside [0, vocab) and not ignoreIndex.
    /// </summary>
    public static unsafe T Forward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, Span<T> logSumExp,
        int rows, int vocab, int ignoreIndex, out int count)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("CrossEntropy.Forward", logits.Length, targets, "logSumExp", logSumExp.Length, rows, vocab, ignoreIndex);
        fixed (T* pl = logits, ps = logSumExp)
        {
            T* ls = pl, lse = ps;
            CpuParallel.For(rows, 6L * vocab, (start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    var row = new ReadOnlySpan<T>(ls + (long)r * vocab, vocab);
                    T max = TensorPrimitives.Max(row);
                    lse[r] = max + T.CreateChecked(Math.Log(Softmax.SumExp(row, max, Span<T>.Empty)));
                }
            });
        }
        // The mean is a short serial pass over rows, in double.
        double total = 0;
        count = 0;
        for (int r = 0; r < rows; r++)
        {
            if (targets[r] == ignoreIndex) continue;
            total += double.CreateChecked(logSumExp[r] - logits[r * vocab + targets[r]]);
            count++;
        }
        return count == 0 ? T.Zero : T.CreateChecked(total / count);
    }

    /// <summary>
    /// dLogits_r = (softmax(logits_r) − onehot(target_r)) · gradScale, and 0 for ignored rows, written (=).
    /// For the mean loss, gradScale = dLoss / count.
    /// </summary>
    public static unsafe void Backward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, ReadOnlySpan<T> logSumExp,
        T gradScale, Span<T> dLogits, int rows, int vocab, int ignoreIndex)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "CrossEntropy.Backward";
        Check(op, logits.Length, targets, "logSumExp", logSumExp.Length, rows, vocab, ignoreIndex);
        KernelArgs.Length(op, "dLogits", dLogits.Length, (long)rows * vocab, "rows·vocab");
        fixed (T* pl = logits, ps = logSumExp, pd = dLogits)
        fixed (int* pt = targets)
        {
            T* ls = pl, lse = ps, ds = pd;
            int* ts = pt;
            CpuParallel.For(rows, 6L * vocab, (start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    var d = new Span<T>(ds + (long)r * vocab, vocab);
                    if (ts[r] == ignoreIndex) { d.Clear(); continue; }
                    var row = new ReadOnlySpan<T>(ls + (long)r * vocab, vocab);
                    // exp(x − lse) is the probability; block by block so each block is still in L1 for the scale.
                    for (int i = 0; i < vocab; i += Softmax.Block)
                    {
                        int n = Math.Min(Softmax.Block, vocab - i);
                        var db = d.Slice(i, n);
                        ShiftedExp.Apply(row.Slice(i, n), lse[r], db);
                        TensorPrimitives.Multiply(db, gradScale, db);
                    }
                    d[ts[r]] -= gradScale;
                }
            });
        }
    }

    /// <summary>Validates lengths and every target on the calling thread, before any work, so the error is not wrapped.</summary>
    static void Check(string op, int logits, ReadOnlySpan<int> targets, string lseName, int lse, int rows, int vocab, int ignoreIndex)
    {
        KernelArgs.NonNegative(op, "rows", rows);
        KernelArgs.Positive(op, "vocab", vocab);
        KernelArgs.Length(op, "logits", logits, (long)rows * vocab, "rows·vocab");
        KernelArgs.Length(op, "targets", targets.Length, rows, "rows");
        KernelArgs.Length(op, lseName, lse, rows, "rows");
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            if (t != ignoreIndex && (uint)t >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets), t,
                    $"{op}: target {t} at row {r} is outside [0, {vocab}) and is not ignoreIndex ({ignoreIndex})");
        }
    }
}

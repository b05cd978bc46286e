using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class CrossEntropy
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static T ForwardReference<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, Span<T> logSumExp,
        int rows, int vocab, int ignoreIndex, out int count)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check("CrossEntropy.ForwardReference", logits.Length, targets, "logSumExp", logSumExp.Length, rows, vocab, ignoreIndex);
        double total = 0;
        count = 0;
        for (int r = 0; r < rows; r++)
        {
            double lse = LogSumExp(logits.Slice(r * vocab, vocab));
            logSumExp[r] = T.CreateChecked(lse);
            if (targets[r] == ignoreIndex) continue;
            total += lse - double.CreateChecked(logits[r * vocab + targets[r]]);
            count++;
        }
        return count == 0 ? T.Zero : T.CreateChecked(total / count);
    }

    /// <summary>Scalar reference of <see cref="Backward{T}"/>.</summary>
    public static void BackwardReference<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, ReadOnlySpan<T> logSumExp,
        T gradScale, Span<T> dLogits, int rows, int vocab, int ignoreIndex)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "CrossEntropy.BackwardReference";
        Check(op, logits.Length, targets, "logSumExp", logSumExp.Length, rows, vocab, ignoreIndex);
        KernelArgs.Length(op, "dLogits", dLogits.Length, (long)rows * vocab, "rows·vocab");
        double scale = double.CreateChecked(gradScale);
        for (int r = 0; r < rows; r++)
        {
            double lse = double.CreateChecked(logSumExp[r]);
            for (int i = 0; i < vocab; i++)
            {
                // ∂loss_r/∂x_i = softmax_i − [i = target]; ignored rows contribute nothing.
                double g = targets[r] == ignoreIndex ? 0
                    : Math.Exp(double.CreateChecked(logits[r * vocab + i]) - lse) - (i == targets[r] ? 1 : 0);
                dLogits[r * vocab + i] = T.CreateChecked(g * scale);
            }
        }
    }

    static double LogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double max = double.NegativeInfinity;
        foreach (T v in row) max = Math.Max(max, double.CreateChecked(v));
        double sum = 0;
        foreach (T v in row) sum += Math.Exp(double.CreateChecked(v) - max);
        return max + Math.Log(sum);
    }
}

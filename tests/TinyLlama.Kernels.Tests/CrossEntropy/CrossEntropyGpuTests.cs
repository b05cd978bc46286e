using TinyLlama.Kernels.Tests.Cuda;
using static TinyLlama.Kernels.Tests.GpuTestData;

namespace TinyLlama.Kernels.Tests;

[Collection(CpuAcceleratorCollection.Name)]
public class CrossEntropyGpuTests(CpuAcceleratorFixture gpu)
{
    const int Ignore = -100;
    const float DLoss = 0.7f;

    // Row 1 is ignored; rows 0 and 2 aim at the first and last class; the rest are random.
    static int[] Targets(int rows, int vocab)
    {
        int[] t = RandomData.Ints(rows, 5, vocab);
        t[0] = 0;
        t[1] = Ignore;
        if (rows > 2) t[2] = vocab - 1;
        return t;
    }

    sealed record Result(float[] Lse, float[] RowLoss, float Mean, int Count, float[] DLogits, float[] DLogitsDevice);

    /// <summary>Forward, then backward both with a host scale and with the device scale, on f32 or bf16 storage.</summary>
    Result Run(float[] logits, int[] targets, int rows, int vocab, bool bf16, bool inPlace, CrossEntropyGpu? launcher = null)
    {
        var ce = launcher ?? gpu.Kernels.Get<CrossEntropyGpu>();
        using var bt = gpu.Upload<int>(targets);
        using var lse = gpu.Poisoned<float>(rows);
        using var rowLoss = gpu.Poisoned<float>(rows);
        using var mean = gpu.Poisoned<float>(1);
        using var count = gpu.Poisoned<int>(1);
        using var dLoss = gpu.Upload<float>([DLoss]);
        float[] d1, d2;
        int counted;
        if (bf16)
        {
            using var bl = gpu.Upload<ushort>(ToBf16(logits));
            using var bd1 = gpu.Poisoned<ushort>(rows * vocab);
            using var bd2 = gpu.Poisoned<ushort>(rows * vocab);
            ce.Forward(gpu.Stream, bl.View, bt.View, lse.View, rowLoss.View, mean.View, count.View, rows, vocab, Ignore);
            counted = gpu.Download(count)[0];
            ce.Backward(gpu.Stream, bl.View, bt.View, lse.View, counted == 0 ? 0f : DLoss / counted, bd1.View, rows, vocab, Ignore);
            ILGPU.ArrayView<ushort> d2Out = inPlace ? bl.View : bd2.View;
            ce.Backward(gpu.Stream, bl.View, bt.View, lse.View, dLoss.View, count.View, d2Out, rows, vocab, Ignore);
            (d1, d2) = (Widen(gpu.Download(bd1)), Widen(gpu.Download(d2Out)));
        }
        else
        {
            using var bl = gpu.Upload<float>(logits);
            using var bd1 = gpu.Poisoned<float>(rows * vocab);
            using var bd2 = gpu.Poisoned<float>(rows * vocab);
            ce.Forward(gpu.Stream, bl.View, bt.View, lse.View, rowLoss.View, mean.View, count.View, rows, vocab, Ignore);
            counted = gpu.Download(count)[0];
            ce.Backward(gpu.Stream, bl.View, bt.View, lse.View, counted == 0 ? 0f : DLoss / counted, bd1.View, rows, vocab, Ignore);
            ILGPU.ArrayView<float> d2Out = inPlace ? bl.View : bd2.View;
            ce.Backward(gpu.Stream, bl.View, bt.View, lse.View, dLoss.View, count.View, d2Out, rows, vocab, Ignore);
            (d1, d2) = (gpu.Download(bd1), gpu.Download(d2Out));
        }
        return new Result(gpu.Download(lse), gpu.Download(rowLoss), gpu.Download(mean)[0], counted, d1, d2);
    }

    [Theory]
    [InlineData(3, 50, false, false)]
    [InlineData(4, 300, false, true)]
    [InlineData(4, 300, true, true)]
    [InlineData(2, 200, false, false)]
    [InlineData(2, 200, true, false)]
    public void ForwardAndBackwardMatchTheReference(int rows, int vocab, bool bf16, bool inPlace) =>
        Check(rows, vocab, bf16, inPlace, launcher: null);

    // The group size the GPU runs (512 threads, 16 warps in the reduction); 1500 > 2·512 takes the unrolled loop, and
    // 32000 is the Llama-2 vocabulary: 32000 exponentials summed in f32 still meet the reduction tolerance.
    [Theory]
    [InlineData(3, 1500, false)]
    [InlineData(2, 32000, true)]
    public void TheGpuGroupSizeMatchesTheReference(int rows, int vocab, bool bf16) =>
        Check(rows, vocab, bf16, inPlace: false, GpuShaped(gpu.Accelerator));

    // One launcher at the GPU group size for the whole process (loading compiles its kernels).
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ILGPU.Runtime.Accelerator, CrossEntropyGpu> gpuShaped = new();

    static CrossEntropyGpu GpuShaped(ILGPU.Runtime.Accelerator accelerator) =>
        gpuShaped.GetValue(accelerator, a => new CrossEntropyGpu(a, CrossEntropyGpu.GpuGroupSize));

    void Check(int rows, int vocab, bool bf16, bool inPlace, CrossEntropyGpu? launcher)
    {
        float[] logits = Stored(RandomData.Array<float>(rows * vocab, 1, 6), bf16);
        int[] targets = Targets(rows, vocab);
        double[] x = ToDouble(logits);
        var lseRef = new double[rows];
        double meanRef = CrossEntropy.ForwardReference<double>(x, targets, lseRef, rows, vocab, Ignore, out int countRef);
        double[] rowRef = Enumerable.Range(0, rows).Select(r => targets[r] == Ignore ? 0 : lseRef[r] - x[r * vocab + targets[r]]).ToArray();
        var dRef = new double[rows * vocab];
        CrossEntropy.BackwardReference<double>(x, targets, lseRef, (double)DLoss / countRef, dRef, rows, vocab, Ignore);

        var result = Run(logits, targets, rows, vocab, bf16, inPlace, launcher);

        // The statistics are f32 whatever the storage, so the f32 reduction tolerance holds for bf16 logits too.
        Close(lseRef, result.Lse, bf16: false, reduction: true, "CrossEntropy logSumExp");
        Close(rowRef, result.RowLoss, bf16: false, reduction: true, "CrossEntropy row loss");
        Assert.Equal(0f, result.RowLoss[1]);
        Assert.Equal(countRef, result.Count);
        AssertClose.Scalar(meanRef, result.Mean, 1e-4, "CrossEntropy mean");
        Close(dRef, result.DLogits, bf16, reduction: true, "CrossEntropy dLogits (host scale)");
        Close(dRef, result.DLogitsDevice, bf16, reduction: true, "CrossEntropy dLogits (device scale)");
        Assert.All(result.DLogits.AsSpan(vocab, vocab).ToArray(), v => Assert.Equal(0f, v)); // the ignored row
    }

    [Fact]
    public void EveryRowIgnoredGivesZeroLossAndGradient()
    {
        const int rows = 2, vocab = 40;
        var result = Run(RandomData.Array<float>(rows * vocab, 2), [Ignore, Ignore], rows, vocab, bf16: false, inPlace: false);
        Assert.Equal(0, result.Count);
        Assert.Equal(0f, result.Mean);
        Assert.All(result.DLogits, v => Assert.Equal(0f, v));
        Assert.All(result.DLogitsDevice, v => Assert.Equal(0f, v));
    }

    // The GPU cannot throw: an out-of-range target poisons its row and the mean instead of reading out of bounds.
    [Fact]
    public void AnInvalidTargetGivesNaNNotACrash()
    {
        const int rows = 3, vocab = 40;
        var result = Run(RandomData.Array<float>(rows * vocab, 3), [1, vocab, 2], rows, vocab, bf16: false, inPlace: false);
        Assert.True(float.IsNaN(result.RowLoss[1]));
        Assert.True(float.IsNaN(result.Mean));
        Assert.False(float.IsNaN(result.RowLoss[0]));
        Assert.All(result.DLogits.AsSpan(vocab, vocab).ToArray(), v => Assert.True(float.IsNaN(v)));
        Assert.All(result.DLogits.AsSpan(0, vocab).ToArray(), v => Assert.False(float.IsNaN(v)));
    }

    [Fact]
    public void WrongLengthsAreRefusedBeforeLaunch()
    {
        var ce = gpu.Kernels.Get<CrossEntropyGpu>();
        using var logits = gpu.Upload<float>(new float[3 * 10]);
        using var targets = gpu.Upload<int>(new int[3]);
        using var shortTargets = gpu.Upload<int>(new int[2]);
        using var lse = gpu.Poisoned<float>(3);
        using var rowLoss = gpu.Poisoned<float>(3);
        using var one = gpu.Poisoned<float>(1);
        using var count = gpu.Poisoned<int>(1);
        using var shortD = gpu.Poisoned<float>(29);
        using var two = gpu.Poisoned<float>(2);

        var e = Assert.Throws<ArgumentException>(() =>
            ce.Forward(gpu.Stream, logits.View, shortTargets.View, lse.View, rowLoss.View, one.View, count.View, 3, 10, Ignore));
        Assert.Contains("CrossEntropyGpu.Forward: targets has 2 elements, expected rows = 3", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            ce.Forward(gpu.Stream, logits.View, targets.View, lse.View, rowLoss.View, two.View, count.View, 3, 10, Ignore));
        Assert.Contains("meanLoss has 2 elements", e.Message);
        e = Assert.Throws<ArgumentException>(() => ce.Backward(gpu.Stream, logits.View, targets.View, lse.View, 1f, shortD.View, 3, 10, Ignore));
        Assert.Contains("CrossEntropyGpu.Backward: dLogits has 29 elements, expected rows·vocab = 30", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            ce.Backward(gpu.Stream, logits.View, targets.View, lse.View, two.View, count.View, logits.View, 3, 10, Ignore));
        Assert.Contains("dLoss has 2 elements", e.Message);
    }
}

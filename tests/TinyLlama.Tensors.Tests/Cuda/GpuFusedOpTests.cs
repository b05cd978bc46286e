namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>The fused ops of a Llama block on the simulated cuda device, forward and backward, against the CPU ops.</summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuFusedOpTests(SimulatedGpuFixture gpu)
{
    static readonly Device Cuda = SimulatedGpuFixture.Cuda;

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Silu(DType dtype)
    {
        Assert.NotNull(gpu.Device);
        using var x = Tensor.Randn([3, 37], new Random(1), std: 2.0);
        GpuOpCheck.Matches(t => Functional.Silu(t[0]), dtype, seed: 2, x);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void RmsNorm(DType dtype)
    {
        // Leading axes (2, 5) flatten to 10 rows; the weight gradient sums over all of them.
        using var x = Tensor.Randn([2, 5, 40], new Random(3), std: 1.5);
        using var weight = Tensor.Randn([40], new Random(4), std: 0.3, mean: 1.0);
        GpuOpCheck.Matches(t => Functional.RmsNorm(t[0], t[1], eps: 1e-5), dtype, seed: 5, x, weight);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Rope(DType dtype)
    {
        // Tables for 12 positions, tokens at 3..7: the offset into the tables is exercised, not just position 0.
        var (cosCpu, sinCpu) = Functional.RopeTables(12, 8, 10000.0);
        var (cosGpu, sinGpu) = Functional.RopeTables(12, 8, 10000.0, DType.F32, Cuda);
        using (cosCpu) using (sinCpu) using (cosGpu) using (sinGpu)
        {
            using var x = Tensor.Randn([2, 5, 3, 8], new Random(6));
            GpuOpCheck.Matches(t => t[0].Device.Kind == DeviceKind.Cpu
                ? Functional.Rope(t[0], cosCpu, sinCpu, startPos: 3)
                : Functional.Rope(t[0], cosGpu, sinGpu, startPos: 3), dtype, seed: 7, x);
        }
    }

    [Fact]
    public void RopeTablesOnTheDeviceAreTheCpuTablesInF32()
    {
        var (cos, sin) = Functional.RopeTables(9, 16, 500.0);
        var (cosGpu, sinGpu) = Functional.RopeTables(9, 16, 500.0, DType.F32, Cuda);
        using (cos) using (sin) using (cosGpu) using (sinGpu)
        {
            Assert.Equal(Cuda, cosGpu.Device);
            Assert.Equal(DType.F32, sinGpu.DType);
            Assert.Equal(cos.ToArray<float>(), cosGpu.ToArray<float>());
            Assert.Equal(sin.ToArray<float>(), sinGpu.ToArray<float>());
        }
        var e = Assert.Throws<ArgumentException>(() => Functional.RopeTables(9, 16, 500.0, DType.BF16, Cuda));
        Assert.Contains("f32", e.Message);
    }

    [Fact]
    public void RopeRefusesTablesOnAnotherDeviceOrInBf16()
    {
        var (cos, sin) = Functional.RopeTables(4, 8);
        using (cos) using (sin)
        using (var x = Tensor.Zeros([1, 4, 2, 8], DType.BF16, Cuda))
        using (var cosBf16 = cos.To(DType.BF16))
        using (var cosGpuBf16 = cosBf16.To(Cuda))
        using (var sinGpu = sin.To(Cuda))
        {
            var e = Assert.Throws<ArgumentException>(() => Functional.Rope(x, cos, sin));
            Assert.Contains("cuda:0, cpu", e.Message);
            e = Assert.Throws<ArgumentException>(() => Functional.Rope(x, cosGpuBf16, sinGpu));
            Assert.Contains("expected f32 tables", e.Message);
        }
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Softmax(DType dtype)
    {
        using var x = Tensor.Randn([3, 4, 24], new Random(8), std: 2.0);
        GpuOpCheck.Matches(t => Functional.Softmax(t[0]), dtype, seed: 9, x);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void SwiGlu(DType dtype)
    {
        using var gate = Tensor.Randn([6, 40], new Random(10), std: 2.0);
        using var up = Tensor.Randn([6, 40], new Random(11));
        GpuOpCheck.Matches(t => Functional.SwiGlu(t[0], t[1]), dtype, seed: 12, gate, up);
    }

    [Fact]
    public void StridedInputsAreGatheredOnTheDevice()
    {
        // Transposed views reach the ops as strided cuda tensors: the ops gather them (CopyIfStrided) before the kernel.
        using var gate = Tensor.Randn([16, 5], new Random(19), std: 2.0);
        using var up = Tensor.Randn([16, 5], new Random(20));
        GpuOpCheck.Matches(t => Functional.SwiGlu(t[0].Transpose(0, 1), t[1].Transpose(0, 1)), DType.F32, seed: 21, gate, up);
        GpuOpCheck.Matches(t => Functional.Softmax(t[0].Transpose(0, 1)), DType.BF16, seed: 22, gate);
    }

    [Fact]
    public void SwiGluRefusesInputsOnTwoDevices()
    {
        using var gate = Tensor.Zeros([2, 3]);
        using var up = Tensor.Zeros([2, 3], DType.F32, Cuda);
        var e = Assert.Throws<ArgumentException>(() => Functional.SwiGlu(gate, up));
        Assert.Contains("swiglu", e.Message);
        Assert.Contains("cpu, cuda:0", e.Message);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Embedding(DType dtype)
    {
        // Repeated ids (3 and 0 several times): their gradients must add up in the table's rows.
        using var table = Tensor.Randn([20, 16], new Random(13));
        using var ids = Tensor.FromArray(new[] { 3, 0, 19, 3, 7, 0, 3, 11, 5, 0, 2, 3 }, 3, 4);
        GpuOpCheck.Matches(t => Functional.Embedding(t[0], t[1]), dtype, seed: 14, table, ids);
    }

    [Fact]
    public void EmbeddingRefusesIdsOnTheCpu()
    {
        using var table = Tensor.Zeros([4, 8], DType.F32, Cuda);
        using var ids = Tensor.FromArray(new[] { 1, 2 }, 2);
        var e = Assert.Throws<ArgumentException>(() => Functional.Embedding(table, ids));
        Assert.Contains("embedding", e.Message);
        Assert.Contains("cuda:0, cpu", e.Message);
    }

    static Tensor Targets() =>
        Tensor.FromArray(new[] { 5, -100, 63, 0, 17, -100, 40, 40, 2, -100, 31, 9 }, 2, 6);

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void CrossEntropy(DType dtype)
    {
        // Three of the twelve targets ignored: the mean is over nine rows, and the ignored rows get zero gradient.
        using var logits = Tensor.Randn([2, 6, 64], new Random(15), std: 2.0);
        using var targets = Targets();
        GpuOpCheck.Matches(t => Functional.CrossEntropy(t[0], t[1]), dtype, seed: 16, logits, targets);
    }

    [Fact]
    public void CrossEntropyOfBf16LogitsIsAnF32ScalarOnTheDevice()
    {
        using var host = Tensor.Randn([2, 6, 64], new Random(17), std: 2.0);
        using var hostTargets = Targets();
        using var hostBf16 = host.To(DType.BF16);
        using var logits = hostBf16.To(Cuda);
        using var targets = hostTargets.To(Cuda);
        logits.RequiresGrad = true;
        using var loss = Functional.CrossEntropy(logits, targets);
        Assert.Equal(Cuda, loss.Device);
        Assert.Equal(DType.F32, loss.DType);
        Assert.Empty(loss.ShapeArray());

        // The mean over the nine targets kept, by hand in double from the bf16 logits.
        var l = hostBf16.ToDoubleArray();
        var tg = hostTargets.ToArray<int>();
        double sum = 0;
        int kept = 0;
        for (int r = 0; r < tg.Length; r++)
        {
            if (tg[r] == -100) continue;
            var row = l.AsSpan(r * 64, 64).ToArray();
            double max = row.Max();
            sum += max + Math.Log(row.Sum(v => Math.Exp(v - max))) - row[tg[r]];
            kept++;
        }
        Assert.Equal(9, kept);
        Assert.Equal(sum / kept, loss.Item(), 4);

        using var gHost = Tensor.Scalar(2.0);
        using var g = gHost.To(Cuda);
        loss.Backward(g);
        Assert.Equal(DType.BF16, logits.Grad!.DType);
        Assert.Equal(Cuda, logits.Grad.Device);
        var dLogits = logits.Grad.ToDoubleArray();
        for (int r = 0; r < tg.Length; r++)
        {
            double rowSum = dLogits.AsSpan(r * 64, 64).ToArray().Sum();
            if (tg[r] == -100) Assert.All(dLogits.AsSpan(r * 64, 64).ToArray(), v => Assert.Equal(0.0, v));
            else Assert.True(Math.Abs(rowSum) < 1e-2, $"row {r}: dLogits sum to {rowSum}; softmax − onehot sums to 0");
        }
    }

    [Fact]
    public void CrossEntropyWithEveryTargetIgnoredIsZeroWithZeroGradient()
    {
        using var host = Tensor.Randn([4, 16], new Random(18));
        using var logits = host.To(Cuda);
        using var hostTargets = Tensor.Full([4], -100, DType.I32);
        using var targets = hostTargets.To(Cuda);
        logits.RequiresGrad = true;
        using var loss = Functional.CrossEntropy(logits, targets);
        Assert.Equal(0.0, loss.Item());
        using var gHost = Tensor.Scalar(1.0);
        using var g = gHost.To(Cuda);
        loss.Backward(g);
        Assert.All(logits.Grad!.ToDoubleArray(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void CrossEntropyRefusesTargetsOnTheCpuOrNotI32()
    {
        using var logits = Tensor.Zeros([3, 8], DType.F32, Cuda);
        using var cpuTargets = Tensor.FromArray(new[] { 1, 2, 3 }, 3);
        var e = Assert.Throws<ArgumentException>(() => Functional.CrossEntropy(logits, cpuTargets));
        Assert.Contains("cuda:0, cpu", e.Message);
        using var floatTargets = Tensor.Zeros([3], DType.F32, Cuda);
        e = Assert.Throws<ArgumentException>(() => Functional.CrossEntropy(logits, floatTargets));
        Assert.Contains("expected i32", e.Message);
    }
}

namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>
/// Sums, means, casts and the autograd plumbing (seed, leaf gradients, accumulation) on the simulated cuda device,
/// against the CPU.
/// </summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuReduceCastTests(SimulatedGpuFixture gpu)
{
    static readonly Device Cuda = SimulatedGpuFixture.Cuda;

    static Tensor Randn(int[] shape, int seed) => Tensor.Randn(shape, new Random(seed), std: 1.5);

    public static TheoryData<string, DType> ReduceCases()
    {
        var data = new TheoryData<string, DType>();
        foreach (var dtype in new[] { DType.F32, DType.BF16 })
        foreach (var c in new[] { "sum", "mean", "sum1", "mean02keep", "sum-1keep", "meanT", "sum0" })
            data.Add(c, dtype);
        return data;
    }

    [Theory, MemberData(nameof(ReduceCases))]
    public void SumAndMeanMatchTheCpu(string reduction, DType dtype)
    {
        Assert.NotNull(gpu.Device);
        using var x = Randn([3, 5, 7], 1);
        Func<Tensor, Tensor> f = reduction switch
        {
            "sum" => t => t.Sum(),                                  // one output: the two-pass full reduction
            "mean" => t => t.Mean(),
            "sum1" => t => t.Sum(1),                                // a middle axis: permuted last, then rows
            "mean02keep" => t => t.Mean([0, 2], keepDim: true),
            "sum-1keep" => t => t.Sum(-1, keepDim: true),
            "meanT" => t => t.Transpose(0, 2).Mean(0),              // a strided input
            _ => t => t.Sum([0, 1, 2]).AddScalar(0.0) * t.Sum(0),   // a scalar result broadcast in a product
        };
        GpuOpCheck.Matches(t => f(t[0]), dtype, seed: 2, x);
    }

    [Fact]
    public void AReductionKeepsTheInputDTypeAndDevice()
    {
        using var x = Randn([4, 6], 3).To(DType.BF16).To(Cuda);
        using var s = x.Sum(0);
        using var m = x.Mean();
        Assert.Equal((DType.BF16, Cuda), (s.DType, s.Device));
        Assert.Equal((DType.BF16, Cuda), (m.DType, m.Device));
        Assert.Equal([6], s.ShapeArray());
        Assert.Empty(m.ShapeArray());
    }

    [Fact]
    public void CastsOnTheDeviceMatchTheCpuBitForBit()
    {
        using var host = Randn([5, 9], 4);
        using var onGpu = host.To(Cuda);
        using var bf16 = onGpu.To(DType.BF16);
        using var expectedBf16 = host.To(DType.BF16);
        Assert.Equal((DType.BF16, Cuda), (bf16.DType, bf16.Device));
        Assert.Equal(expectedBf16.ToArray<ushort>(), bf16.ToArray<ushort>());

        using var widened = bf16.To(DType.F32);
        using var expectedF32 = expectedBf16.To(DType.F32);
        Assert.Equal(expectedF32.ToArray<float>(), widened.ToArray<float>());

        // A strided view is converted in place, and a same-dtype cast is a copy of the view.
        using var transposed = onGpu.Transpose();
        using var castT = transposed.To(DType.BF16);
        using var expectedT = host.Transpose().To(DType.BF16);
        Assert.Equal(expectedT.ToArray<ushort>(), castT.ToArray<ushort>());
        using var copy = transposed.To(DType.F32);
        Assert.NotSame(onGpu.Storage, copy.Storage);
        Assert.True(copy.IsContiguous);
        Assert.Equal(host.Transpose().ToArray<float>(), copy.ToArray<float>());
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void CastsAreDifferentiableOnTheDevice(DType dtype)
    {
        using var a = Randn([4, 9], 5);
        using var b = Randn([4, 9], 6);
        // f32 leaves: through bf16 and back (the gradient is rounded to bf16 on the way, identically on both devices).
        // bf16 leaves: widened to f32 for the product, the gradient narrowed back to bf16.
        var other = dtype == DType.F32 ? DType.BF16 : DType.F32;
        GpuOpCheck.Matches(t => t[0].To(other).To(DType.F32) * t[1].To(DType.F32), dtype, seed: 7, a, b);
    }

    [Fact]
    public void CpuCastsAmongF32F64AndBf16AreDifferentiable()
    {
        using var x = Tensor.FromArray([1.5f, -2.25f, 3f]).To(DType.BF16);
        x.RequiresGrad = true;
        for (int pass = 0; pass < 2; pass++) // the second pass accumulates into a bf16 gradient on the cpu
        {
            using var wide = x.To(DType.F64);
            using var y = (wide * wide).Sum();
            y.Backward();
        }
        Assert.Equal(DType.BF16, x.Grad!.DType);
        Assert.Equal(new double[] { 6, -9, 12 }, x.Grad.ToDoubleArray()); // 2 passes · 2x
        using var ids = x.To(DType.I32);
        Assert.False(ids.RequiresGrad);
    }

    [Fact]
    public void UnsupportedCastsOnTheDeviceSayWhatToDo()
    {
        using var x = Randn([2, 3], 8).To(Cuda);
        var error = Assert.Throws<NotSupportedException>(() => x.To(DType.F64));
        Assert.Contains("to(f64)", error.Message);
        Assert.Contains("cuda:0", error.Message);
        Assert.Contains("f32 ↔ bf16", error.Message);
        using var f64 = Tensor.Ones([2, 2], DType.F64, Cuda);
        using var same = f64.To(DType.F64); // a same-dtype cast is a device copy for any dtype
        Assert.Equal(Cuda, same.Device);
        Assert.Equal(new double[] { 1, 1, 1, 1 }, same.ToDoubleArray());
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void BackwardSeedsTheRootOnItsDevice(DType dtype)
    {
        using var a = Randn([3, 8], 9);
        using var b = Randn([3, 8], 10);
        using var c = Randn([8], 11);
        var leaves = new[] { a, b, c }.Select(t => GpuOpCheck.ToDevice(t, dtype, Cuda).RequireGrad()).ToArray();
        var cpu = new[] { a, b, c }.Select(t => t.Clone().RequireGrad()).ToArray();
        try
        {
            long uploaded = gpu.Device.Transfers.BytesUploaded;
            using (var loss = ((leaves[0] * leaves[1]) + leaves[2]).Sum().To(DType.F32))
            {
                Assert.Equal((DType.F32, Cuda), (loss.DType, loss.Device));
                loss.Backward(); // the seed 1 is made on cuda:0 in f32; the cast hands bf16 back to a bf16 graph
            }
            Assert.True(gpu.Device.Transfers.BytesUploaded - uploaded <= 4, "only the seed may be uploaded");
            using (var expected = ((cpu[0] * cpu[1]) + cpu[2]).Sum()) expected.Backward();
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal((dtype, Cuda), (leaves[i].Grad!.DType, leaves[i].Grad!.Device));
                GpuOpCheck.AssertClose($"gradient of leaf {i}", cpu[i].Grad!, leaves[i].Grad!, dtype);
            }

            // A second backward accumulates into the leaf gradients on the device (AddInPlace).
            using (var again = ((leaves[0] * leaves[1]) + leaves[2]).Sum()) again.Backward();
            using var doubled = cpu[2].Grad!.Scale(2.0);
            GpuOpCheck.AssertClose("accumulated gradient", doubled, leaves[2].Grad!, dtype);

            leaves[2].ZeroGrad();
            Assert.Null(leaves[2].Grad);
        }
        finally
        {
            foreach (var t in leaves.Concat(cpu)) t.Dispose();
        }
    }

    [Fact]
    public void AGradientFromAnotherDeviceIsRefused()
    {
        using var x = Randn([2, 3], 12).To(Cuda).RequireGrad();
        using var y = x * 2.0;
        using var g = Tensor.Ones([2, 3]);
        var error = Assert.Throws<ArgumentException>(() => y.Backward(g));
        Assert.Contains("gradient lives on cpu", error.Message);
        Assert.Contains("cuda:0", error.Message);
    }

    [Fact]
    public void CreationCloneDetachAndItemWorkOnTheDevice()
    {
        using var full = Tensor.Full([2, 3], -0.75, DType.BF16, Cuda);
        using var ones = Tensor.Ones([4], DType.F32, Cuda);
        using var scalar = Tensor.Scalar(2.5, DType.F32, Cuda);
        using var zeros = Tensor.ZerosLike(full);
        Assert.Equal((DType.BF16, Cuda), (full.DType, full.Device));
        Assert.All(full.ToDoubleArray(), v => Assert.Equal(-0.75, v));
        Assert.All(ones.ToDoubleArray(), v => Assert.Equal(1.0, v));
        Assert.Equal((DType.BF16, Cuda), (zeros.DType, zeros.Device));
        Assert.All(zeros.ToDoubleArray(), v => Assert.Equal(0.0, v));
        Assert.Equal(2.5, scalar.Item());

        using var x = Randn([3, 4], 13).To(Cuda).RequireGrad();
        using var clone = x.Clone();
        Assert.Equal(Cuda, clone.Device);
        Assert.NotSame(x.Storage, clone.Storage);
        Assert.True(clone.RequiresGrad);
        using var detached = x.Detach();
        Assert.False(detached.RequiresGrad);
        Assert.Same(x.Storage, detached.Storage);
        using var total = clone.Sum();
        Assert.Equal(x.ToDoubleArray().Sum(), total.Item(), 4);
        total.Backward();
        Assert.All(x.Grad!.ToDoubleArray(), v => Assert.Equal(1.0, v)); // the clone's gradient passes through
    }
}

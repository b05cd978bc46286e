namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>Tensor.MatMul on the simulated cuda device (bf16 on the emulated tensor-core kernel, f32 on SIMT) against the CPU op.</summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuMatMulTests(SimulatedGpuFixture gpu)
{
    // std 0.5: products of K = 24 terms stay near 1, so bf16's relative rounding is measured against values of
    // the size it is meant for (a training matmul's inputs are normalised).
    static Tensor Input(int[] shape, int seed) => Tensor.Randn(shape, new Random(seed), std: 0.5);

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Matrix_odd_sizes(DType dtype)
    {
        using var a = Input([37, 24], 1); // (M, K), no size a multiple of a tile
        using var b = Input([24, 19], 2); // (K, N)
        GpuOpCheck.Matches(t => t[0].MatMul(t[1]), dtype, seed: 3, a, b);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Linear_like_transposed_weight(DType dtype)
    {
        using var x = Input([2, 5, 24], 4); // (B, T, C)
        using var w = Input([19, 24], 5);   // (N, C), used as wᵀ as Linear does
        GpuOpCheck.Matches(t => t[0].MatMul(t[1].Transpose()), dtype, seed: 6, x, w);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Batched(DType dtype)
    {
        using var a = Input([3, 13, 24], 7); // (B, M, K)
        using var b = Input([3, 24, 19], 8); // (B, K, N)
        GpuOpCheck.Matches(t => t[0].MatMul(t[1]), dtype, seed: 9, a, b);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Batched_transposed_views(DType dtype)
    {
        // Both operands column-major per batch entry (kᵀ as attention scores use it): read in place, not gathered.
        using var a = Input([3, 24, 13], 10); // (B, K, M), used as (B, M, K)
        using var b = Input([3, 19, 24], 11); // (B, N, K), used as (B, K, N)
        GpuOpCheck.Matches(t => t[0].Transpose().MatMul(t[1].Transpose()), dtype, seed: 12, a, b);
    }

    [Fact]
    public void Broadcast_batch_forward()
    {
        // Backward of a broadcast matmul sums over the broadcast axes (SumToShape, not part of this op).
        using var noGrad = Autograd.NoGrad();
        using var a = Input([2, 1, 5, 8], 13); // (2, 1, M, K)
        using var b = Input([3, 8, 6], 14);    // (3, K, N)
        using var expected = a.MatMul(b);
        using var ag = a.To(SimulatedGpuFixture.Cuda);
        using var bg = b.To(SimulatedGpuFixture.Cuda);
        using var actual = ag.MatMul(bg);
        Assert.Equal([2, 3, 5, 6], actual.ShapeArray());
        GpuOpCheck.AssertClose("output", expected, actual, DType.F32);
    }

    [Fact]
    public void Transposed_weight_is_not_copied()
    {
        using var noGrad = Autograd.NoGrad();
        using var xCpu = Input([2, 5, 24], 15);
        using var wCpu = Input([19, 24], 16);
        using var x = GpuOpCheck.ToDevice(xCpu, DType.BF16, SimulatedGpuFixture.Cuda); // (B, T, C)
        using var w = GpuOpCheck.ToDevice(wCpu, DType.BF16, SimulatedGpuFixture.Cuda); // (N, C)
        using var wt = w.Transpose();
        long requests = gpu.Device.Memory.Statistics.Requests;
        using var y = x.MatMul(wt);
        Assert.Equal(requests + 1, gpu.Device.Memory.Statistics.Requests); // the result only
        Assert.Equal([2, 5, 19], y.ShapeArray());
        Assert.Equal(DType.BF16, y.DType);
    }

    [Fact]
    public void Empty_inner_dimension_gives_zeros()
    {
        var cuda = SimulatedGpuFixture.Cuda;
        using var a = Tensor.Empty([3, 0], DType.F32, cuda);
        using var b = Tensor.Empty([0, 4], DType.F32, cuda);
        using (var nan = Tensor.Full([3, 4], double.NaN)) nan.To(cuda).Dispose(); // poison the block the result reuses
        long hits = gpu.Device.Memory.Statistics.CacheHits;
        using var y = a.MatMul(b);
        Assert.Equal(hits + 1, gpu.Device.Memory.Statistics.CacheHits);
        Assert.Equal(new double[12], y.ToDoubleArray());
    }

    [Fact]
    public void Mixed_dtypes_are_refused()
    {
        using var a = Tensor.Zeros([2, 3], DType.F32, SimulatedGpuFixture.Cuda);
        using var b = Tensor.Zeros([3, 4], DType.BF16, SimulatedGpuFixture.Cuda);
        var e = Assert.Throws<ArgumentException>(() => a.MatMul(b));
        Assert.Contains("matmul: dtypes differ (f32, bf16)", e.Message);
    }

    [Fact]
    public void Mixed_devices_are_refused()
    {
        using var a = Tensor.Zeros([2, 3], DType.F32, SimulatedGpuFixture.Cuda);
        using var b = Tensor.Zeros([3, 4], DType.F32);
        var e = Assert.Throws<ArgumentException>(() => a.MatMul(b));
        Assert.Contains("matmul: inputs live on cuda:0, cpu", e.Message);
        e = Assert.Throws<ArgumentException>(() => b.Transpose().MatMul(a.Transpose()));
        Assert.Contains("expected all on one device", e.Message);
    }

    [Fact]
    public void Shapes_that_do_not_chain_are_refused()
    {
        using var a = Tensor.Zeros([2, 3], DType.F32, SimulatedGpuFixture.Cuda);
        using var b = Tensor.Zeros([4, 5], DType.F32, SimulatedGpuFixture.Cuda);
        var e = Assert.Throws<ArgumentException>(() => a.MatMul(b));
        Assert.Contains("matmul: shapes (2, 3) and (4, 5) do not chain", e.Message);
    }
}

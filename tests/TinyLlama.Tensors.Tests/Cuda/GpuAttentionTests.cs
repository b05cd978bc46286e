namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>Functional.CausalAttention on the simulated cuda device (FlashAttention-2) against the CPU op, forward and backward.</summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuAttentionTests(SimulatedGpuFixture gpu)
{
    const int B = 2, H = 4, KvH = 2, Hs = 16;

    [Theory]
    [InlineData(DType.F32, 13)]
    [InlineData(DType.F32, 33)]
    [InlineData(DType.BF16, 13)]
    [InlineData(DType.BF16, 33)]
    public void Grouped_query_heads(DType dtype, int t)
    {
        // T = 33 spans two forward row tiles (32) and two backward key tiles, the last one ragged.
        using var q = Tensor.Randn([B, H, t, Hs], new Random(1));
        using var k = Tensor.Randn([B, KvH, t, Hs], new Random(2));
        using var v = Tensor.Randn([B, KvH, t, Hs], new Random(3));
        GpuOpCheck.Matches(x => Functional.CausalAttention(x[0], x[1], x[2]), dtype, seed: 4, q, k, v);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Permuted_inputs_and_explicit_scale(DType dtype)
    {
        // The model's layout: (B, T, H, Hs) projections viewed as (B, H, T, Hs).
        const int t = 21;
        using var q = Tensor.Randn([B, t, H, Hs], new Random(5));
        using var k = Tensor.Randn([B, t, KvH, Hs], new Random(6));
        using var v = Tensor.Randn([B, t, KvH, Hs], new Random(7));
        GpuOpCheck.Matches(x => Functional.CausalAttention(
            x[0].Permute(0, 2, 1, 3), x[1].Permute(0, 2, 1, 3), x[2].Permute(0, 2, 1, 3), scale: 0.4),
            dtype, seed: 8, q, k, v);
    }

    [Fact]
    public void Keeps_no_score_matrix()
    {
        // Forward allocates the output and the f32 lse (B, H, T) only, never the (B, H, T, T) probabilities.
        const int t = 24;
        var cuda = SimulatedGpuFixture.Cuda;
        using var q = Tensor.Randn([B, H, t, Hs], new Random(9)).To(cuda);
        using var k = Tensor.Randn([B, KvH, t, Hs], new Random(10)).To(cuda);
        using var v = Tensor.Randn([B, KvH, t, Hs], new Random(11)).To(cuda);
        q.RequiresGrad = true;
        var before = gpu.Device.Memory.Statistics;
        using var y = Functional.CausalAttention(q, k, v);
        var after = gpu.Device.Memory.Statistics;
        Assert.Equal(before.Requests + 2, after.Requests);
        Assert.True(after.BytesInUse - before.BytesInUse < (long)B * H * t * t * sizeof(float),
            $"attention holds {after.BytesInUse - before.BytesInUse} B after forward; a (B, H, T, T) f32 tensor is {B * H * t * t * sizeof(float)} B");
    }

    [Fact]
    public void Unsupported_head_size_names_the_supported_ones()
    {
        var cuda = SimulatedGpuFixture.Cuda;
        using var q = Tensor.Zeros([1, 2, 5, 8], DType.F32, cuda);
        using var kv = Tensor.Zeros([1, 2, 5, 8], DType.F32, cuda);
        var e = Assert.Throws<ArgumentException>(() => Functional.CausalAttention(q, kv, kv));
        Assert.Contains("attention: head size Hs = 8", e.Message);
        Assert.Contains("expected one of 16, 64, 128", e.Message);
    }

    [Fact]
    public void Bad_grouping_dtypes_and_devices_are_refused()
    {
        var cuda = SimulatedGpuFixture.Cuda;
        using var q = Tensor.Zeros([1, 3, 5, 16], DType.F32, cuda);
        using var kv = Tensor.Zeros([1, 2, 5, 16], DType.F32, cuda);
        var e = Assert.Throws<ArgumentException>(() => Functional.CausalAttention(q, kv, kv));
        Assert.Contains("3 query heads cannot be grouped over 2 kv heads", e.Message);

        using var q4 = Tensor.Zeros([1, 4, 5, 16], DType.F32, cuda);
        using var kvBf16 = Tensor.Zeros([1, 2, 5, 16], DType.BF16, cuda);
        e = Assert.Throws<ArgumentException>(() => Functional.CausalAttention(q4, kvBf16, kvBf16));
        Assert.Contains("attention: dtypes differ (f32, bf16, bf16)", e.Message);

        using var kvCpu = Tensor.Zeros([1, 2, 5, 16], DType.F32);
        e = Assert.Throws<ArgumentException>(() => Functional.CausalAttention(q4, kvCpu, kvCpu));
        Assert.Contains("attention: inputs live on cuda:0, cpu", e.Message);
    }
}

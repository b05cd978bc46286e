namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>The fused ops of a Llama block on the simulated cuda device, forward and backward, against the CPU ops.</summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuFusedOpTests(SimulatedGpuFixture gpu)
{
    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void Silu(DType dtype)
    {
        Assert.NotNull(gpu.Device);
        using var x = Tensor.Randn([3, 37], new Random(1), std: 2.0);
        GpuOpCheck.Matches(t => Functional.Silu(t[0]), dtype, seed: 2, x);
    }
}

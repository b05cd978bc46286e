using TinyLlama.Tensors.Modules;

namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>Parameters move in place (module.To), and values copy into existing tensors across devices.</summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuMoveTests(SimulatedGpuFixture gpu)
{
    [Fact]
    public void ModuleTo_MovesEveryParameterInPlace_AndBack()
    {
        Assert.NotNull(gpu.Device);
        using var layer = new Linear(6, 4, bias: true, rng: new Random(2));
        var weight = layer.Weight;
        var before = weight.ToDoubleArray();
        layer.To(SimulatedGpuFixture.Cuda);
        Assert.Same(weight, layer.Weight); // the same Tensor object: references held elsewhere stay valid
        Assert.All(layer.Parameters(), p => Assert.Equal(SimulatedGpuFixture.Cuda, p.Device));
        Assert.Equal(SimulatedGpuFixture.Cuda, layer.Device);
        Assert.True(weight.RequiresGrad);
        layer.To(Device.Cpu);
        Assert.Equal(before, weight.ToDoubleArray());
    }

    [Fact]
    public void AGradientOnAnotherDevice_IsRefused_AndMoveToTakesTheGradientAlong()
    {
        using var p = Tensor.Randn([3], new Random(3));
        p.RequiresGrad = true;
        using var onGpu = Tensor.Zeros([3], DType.F32, SimulatedGpuFixture.Cuda);
        var e = Assert.Throws<ArgumentException>(() => p.Grad = onGpu);
        Assert.Contains("on cuda:0 for tensor (3) f32 on cpu", e.Message);
        p.Grad = Tensor.FromArray([1f, 2f, 3f]);
        p.MoveTo(SimulatedGpuFixture.Cuda);
        Assert.Equal(SimulatedGpuFixture.Cuda, p.Grad!.Device);
        Assert.Equal([1.0, 2.0, 3.0], p.Grad.ToDoubleArray());
    }

    [Fact]
    public void MoveTo_RefusesAViewAndAResult()
    {
        using var t = Tensor.Randn([4, 4], new Random(1));
        using var view = t.Transpose();
        var e = Assert.Throws<InvalidOperationException>(() => view.MoveTo(SimulatedGpuFixture.Cuda));
        Assert.Contains("shares its storage", e.Message);
        using var leaf = Tensor.Randn([3], new Random(2));
        leaf.RequiresGrad = true;
        using var result = leaf * 2.0;
        e = Assert.Throws<InvalidOperationException>(() => result.MoveTo(SimulatedGpuFixture.Cuda));
        Assert.Contains("only leaves", e.Message);
    }

    [Fact]
    public void CopyFrom_CopiesAcrossDevices_AndChecksTheShape()
    {
        using var host = Tensor.Randn([3, 5], new Random(4));
        using var onGpu = Tensor.Zeros([3, 5], DType.F32, SimulatedGpuFixture.Cuda);
        onGpu.CopyFrom(host);
        Assert.Equal(host.ToDoubleArray(), onGpu.ToDoubleArray());
        using var back = Tensor.Zeros([3, 5], DType.F32);
        back.CopyFrom(onGpu);
        Assert.Equal(host.ToDoubleArray(), back.ToDoubleArray());
        using var wrong = Tensor.Zeros([5, 3], DType.F32, SimulatedGpuFixture.Cuda);
        var e = Assert.Throws<ArgumentException>(() => wrong.CopyFrom(host));
        Assert.Contains("does not match", e.Message);
    }
}

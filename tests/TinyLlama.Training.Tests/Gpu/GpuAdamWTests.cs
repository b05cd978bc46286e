using TinyLlama.Kernels;
using TinyLlama.Tensors;
using TinyLlama.Training.Optim;

namespace TinyLlama.Training.Tests.Gpu;

/// <summary>The optimizer with its parameters on the (simulated) GPU: clip and update match the CPU optimizer.</summary>
public sealed class GpuAdamWTests
{
    public GpuAdamWTests() => GpuDevices.UseSimulator();

    private static (string, Tensor)[] Parameters(Device device, int seed)
    {
        var rng = new Random(seed);
        var shapes = new[] { new[] { 5, 7 }, new[] { 33 }, new[] { 2, 3, 4 } };
        return shapes.Select((shape, i) =>
        {
            var p = Tensor.Randn(shape, rng, std: 0.5);
            var g = Tensor.Randn(shape, rng, std: 2.0);
            TensorScope.Untrack(p);
            p.RequiresGrad = true;
            p.MoveTo(device);
            g.MoveTo(device);
            p.Grad = g;
            return ($"p{i}", p);
        }).ToArray();
    }

    [Theory]
    [InlineData(1.0)]   // the norm (≈ 2·√107) is far above: every gradient is scaled
    [InlineData(100.0)] // below the threshold: no clipping
    [InlineData(0.0)]   // clipping off
    public void ClipAndStep_MatchTheCpuOptimizer(double maxNorm)
    {
        var cpu = Parameters(Device.Cpu, seed: 3);
        var gpu = Parameters(Device.Cuda(0), seed: 3);
        var options = new AdamWOptions { WeightDecay = 0.1 };
        using var cpuOpt = new AdamWOptimizer(cpu, options);
        using var gpuOpt = new AdamWOptimizer(gpu, options);
        for (int step = 0; step < 3; step++)
        {
            double cpuNorm = cpuOpt.ClipGradNorm(maxNorm);
            double gpuNorm = gpuOpt.ClipGradNorm(maxNorm);
            Assert.Equal(cpuNorm, gpuNorm, 4);
            cpuOpt.Step(1e-2);
            gpuOpt.Step(1e-2);
        }
        for (int i = 0; i < cpu.Length; i++)
        {
            Assert.Equal(Device.Cuda(0), gpu[i].Item2.Device);
            var expected = cpu[i].Item2.ToDoubleArray();
            var actual = gpu[i].Item2.ToDoubleArray();
            for (int j = 0; j < expected.Length; j++) Assert.Equal(expected[j], actual[j], 5);
        }
        foreach (var (_, p) in cpu.Concat(gpu)) p.Dispose();
    }

    [Fact]
    public void ParametersOnTwoDevices_AreRefusedNamingThem()
    {
        var cpu = Parameters(Device.Cpu, seed: 1);
        var gpu = Parameters(Device.Cuda(0), seed: 2);
        var e = Assert.Throws<ArgumentException>(() => new AdamWOptimizer([cpu[0], gpu[1]], new AdamWOptions()));
        Assert.Contains("cpu, cuda:0", e.Message);
        foreach (var (_, p) in cpu.Concat(gpu)) p.Dispose();
    }
}

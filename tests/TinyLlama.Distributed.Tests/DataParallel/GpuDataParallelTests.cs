using TinyLlama.Distributed.DataParallel;
using TinyLlama.Distributed.Local;
using TinyLlama.Kernels;
using TinyLlama.Tensors;

namespace TinyLlama.Distributed.Tests.DataParallel;

/// <summary>
/// Data-parallel pieces with parameters on the (simulated) GPU: values pass through host memory on their way around
/// the ring. Only transfers run here (no kernels), so the ranks may share the process's one simulated device; the
/// gradient path end to end is <c>DistributedTrainTests.TwoProcessesOnTheSimulatedGpuMatchOneCpuProcess</c>.
/// </summary>
public sealed class GpuDataParallelTests
{
    public GpuDataParallelTests() => GpuDevices.UseSimulator();

    [Fact]
    public void BroadcastParameters_GivesEveryRankRankZerosValues_OnTheGpu()
    {
        var results = ThreadProcessGroup.Run(3, g =>
        {
            var ps = new[] { 5, 1, 12 }.Select((n, i) =>
            {
                var p = Tensor.FromArray(Enumerable.Range(0, n).Select(k => (float)(100 * g.Rank + 10 * i + k)).ToArray());
                TensorScope.Untrack(p);
                p.RequiresGrad = true;
                p.MoveTo(Device.Cuda(0));
                return ($"p{i}", p);
            }).ToList();
            new DistributedDataParallel(g).BroadcastParameters(ps);
            return ps.Select(p => (p.p.Device, Values: p.p.ToArray<float>())).ToArray();
        });
        foreach (var rank in results)
            for (int i = 0; i < rank.Length; i++)
            {
                Assert.Equal(Device.Cuda(0), rank[i].Device);
                Assert.Equal(Enumerable.Range(0, rank[i].Values.Length).Select(k => (float)(10 * i + k)), rank[i].Values);
            }
    }

    [Fact]
    public void HostSpanCopies_RoundTripThroughTheGpu_AndRefuseAWrongLengthOrType()
    {
        using var t = Tensor.Zeros([2, 3], DType.F32, Device.Cuda(0));
        t.CopyFrom<float>([1, 2, 3, 4, 5, 6]);
        var back = new float[6];
        t.CopyTo<float>(back);
        Assert.Equal([1f, 2, 3, 4, 5, 6], back);
        var wrongLength = Assert.Throws<ArgumentException>(() => t.CopyTo<float>(new float[5]));
        Assert.Contains("5 elements does not match tensor (2, 3) (6 elements)", wrongLength.Message);
        var wrongType = Assert.Throws<ArgumentException>(() => t.CopyFrom<int>(new int[6]));
        Assert.Contains("Int32 does not match tensor (2, 3) of dtype f32", wrongType.Message);
    }
}

using TinyLlama.Kernels;

namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>cuda tensors on the simulated device: moves in both directions, views, memory given back, and the CPU-only error.</summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuTensorTests(SimulatedGpuFixture gpu)
{
    static readonly Device Cuda = SimulatedGpuFixture.Cuda;

    static Tensor Random(int[] shape, DType dtype, int seed)
    {
        var rng = new Random(seed);
        if (dtype == DType.I32)
        {
            var ints = new int[Shapes.Numel(shape)];
            for (int i = 0; i < ints.Length; i++) ints[i] = rng.Next(int.MinValue, int.MaxValue);
            return Tensor.FromArray(ints, shape);
        }
        return Tensor.Randn(shape, rng, std: 3.0, dtype: dtype);
    }

    /// <summary>Same shape, dtype and bytes (NaN payloads included), whatever the devices.</summary>
    static void AssertSameBits(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(HostBytes(expected), HostBytes(actual));
    }

    static byte[] HostBytes(Tensor t)
    {
        using var host = t.Device.Kind == DeviceKind.Cpu ? t.Contiguous() : t.To(Device.Cpu);
        int size = host.DType.SizeInBytes();
        return ((CpuStorage)host.Storage).AsSpan<byte>(host.Offset * size, host.Numel * size).ToArray();
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    [InlineData(DType.I32)]
    [InlineData(DType.F64)]
    public void RoundTripKeepsEveryBit(DType dtype)
    {
        using var host = Random([3, 5, 7], dtype, seed: (int)dtype + 1);
        using var onGpu = host.To(Cuda);
        Assert.Equal(Cuda, onGpu.Device);
        Assert.IsType<GpuStorage>(onGpu.Storage);
        Assert.True(onGpu.IsContiguous);
        using var back = onGpu.To(Device.Cpu);
        Assert.Equal(Device.Cpu, back.Device);
        // ToArray on a host tensor of the expected dtype; the bits must be identical (NaN payloads included).
        AssertSameBits(host, back);
    }

    [Fact]
    public void StridedHostViewsArriveContiguousWithTheViewsValues()
    {
        using var host = Random([4, 6, 5], DType.F32, seed: 31);
        using var permuted = host.Permute(2, 0, 1);
        using var sliced = permuted.Narrow(1, 1, 2);
        Assert.False(sliced.IsContiguous);
        using var onGpu = sliced.To(Cuda);
        Assert.True(onGpu.IsContiguous);
        using var back = onGpu.To(Device.Cpu);
        Assert.Equal(sliced.ToArray<float>(), back.ToArray<float>());
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F64)]
    public void StridedGpuViewsAreGatheredOnTheDevice(DType dtype)
    {
        using var host = Random([3, 4, 5], dtype, seed: 41);
        using var onGpu = host.To(Cuda);
        using var view = onGpu.Transpose(0, 2).Narrow(1, 1, 3); // (5, 3, 3) strided, with an offset
        using var expected = host.Transpose(0, 2).Narrow(1, 1, 3);
        Assert.False(view.IsContiguous);
        using var contiguous = view.Contiguous();
        Assert.Equal(Cuda, contiguous.Device);
        Assert.True(contiguous.IsContiguous);
        using var back = view.To(Device.Cpu);
        AssertSameBits(expected, back);
        using var back2 = contiguous.To(Device.Cpu);
        AssertSameBits(expected, back2);
    }

    [Fact]
    public void CloneAndReshapeOfAGpuViewStayOnTheDevice()
    {
        using var host = Random([4, 6], DType.F32, seed: 13);
        using var onGpu = host.To(Cuda);
        using var transposed = onGpu.Transpose();
        long requests = gpu.Device.Memory.Statistics.Requests;
        using var reshaped = transposed.Reshape(3, 8); // not a view of a transpose: copies, on the device
        using var cloned = transposed.Clone();
        Assert.Equal(Cuda, reshaped.Device);
        Assert.Equal(Cuda, cloned.Device);
        Assert.Equal(requests + 2, gpu.Device.Memory.Statistics.Requests);
        using var expected = host.Transpose().Reshape(3, 8);
        Assert.Equal(expected.ToArray<float>(), reshaped.ToArray<float>());
        Assert.Equal(host.Transpose().ToArray<float>(), cloned.ToArray<float>());
    }

    [Fact]
    public void ReadingValuesOfAGpuTensorCopiesThemToTheHost()
    {
        using var host = Random([2, 3], DType.F32, seed: 5);
        using var onGpu = host.To(Cuda);
        Assert.Equal(host.ToArray<float>(), onGpu.ToArray<float>());
        Assert.Equal(host.ToDoubleArray(), onGpu.ToDoubleArray());
        using var one = Tensor.Scalar(2.5).To(Cuda);
        Assert.Equal(2.5, one.Item());
    }

    [Fact]
    public void ZerosEmptyAndFillWorkOnTheDevice()
    {
        using var garbage = Tensor.Full([1000], 7.0).To(Cuda);
        garbage.Dispose(); // its block goes to the cache, so Zeros below reuses memory full of 7s
        using var zeros = Tensor.Zeros([1000], DType.F32, Cuda);
        Assert.All(zeros.ToArray<float>(), v => Assert.Equal(0f, v));
        using var filled = Tensor.Empty([4, 5], DType.BF16, Cuda);
        filled.Fill(-1.5);
        Assert.All(filled.ToDoubleArray(), v => Assert.Equal(-1.5, v));
        using var row = filled.Narrow(0, 2, 1); // a contiguous view with an offset
        row.Fill(3);
        Assert.Equal(new double[] { -1.5, -1.5, 3, -1.5 }, filled.ToDoubleArray().Where((_, i) => i % 5 == 0));
    }

    [Fact]
    public void TheLastReferenceGivesTheBlockBackToTheAllocator()
    {
        var before = gpu.Device.Memory.Statistics;
        var onGpu = Tensor.Randn([300, 301], new Random(3)).To(Cuda); // 361,200 B: a 512 B class of its own
        long size = GpuSizeClasses.Of(300 * 301 * 4);
        var view = onGpu.Transpose();
        var alias = onGpu.Alias();
        Assert.Equal(before.BytesInUse + size, gpu.Device.Memory.Statistics.BytesInUse); // views share the block
        onGpu.Dispose();
        alias.Dispose();
        Assert.Equal(before.BytesInUse + size, gpu.Device.Memory.Statistics.BytesInUse); // the view still holds it
        view.Dispose();
        var after = gpu.Device.Memory.Statistics;
        Assert.Equal(before.BytesInUse, after.BytesInUse);
        Assert.True(after.BytesCached >= size);

        long allocations = after.DriverAllocations;
        using var again = Tensor.Zeros([301, 300], DType.F32, Cuda);
        Assert.Equal(allocations, gpu.Device.Memory.Statistics.DriverAllocations); // served from the cache
        Assert.Equal(after.CacheHits + 1, gpu.Device.Memory.Statistics.CacheHits);
    }

    [Fact]
    public void AnUndisposedTensorGivesItsBlockBackWhenCollected()
    {
        CollectEverything(); // earlier tests' leaked views would otherwise be collected in the middle of this one
        long before = gpu.Device.Memory.Statistics.BytesInUse;
        LeakGpuTensors(10);
        Assert.True(gpu.Device.Memory.Statistics.BytesInUse > before);
        CollectEverything();
        Assert.Equal(before, gpu.Device.Memory.Statistics.BytesInUse);
        // The returned blocks must still be alive (ILGPU frees a buffer in its finalizer; the pool keeps them reachable).
        for (int i = 0; i < 10; i++)
        {
            using var reused = Tensor.Full([1500], i).To(Cuda);
            Assert.All(reused.ToArray<float>(), v => Assert.Equal(i, v));
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void LeakGpuTensors(int count)
    {
        for (int i = 0; i < count; i++) _ = Tensor.Zeros([1500], DType.F32, Cuda);
    }

    static void CollectEverything()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    [Fact]
    public void CpuOpsRefuseGpuTensorsWithOneClearMessage()
    {
        using var a = Tensor.Randn([4, 4], new Random(1)).To(Cuda);
        var cases = new (string Op, Action Run)[]
        {
            // Read directly, the error names the method that asked for the span.
            (nameof(CpuOpsRefuseGpuTensorsWithOneClearMessage), () => _ = a.AsSpan<float>().Length),
        };
        foreach (var (op, run) in cases)
        {
            var error = Assert.Throws<NotSupportedException>(run);
            Assert.Contains("runs on cpu only (no CUDA kernel for it); got a cuda:0 tensor", error.Message);
            Assert.Contains(op, error.Message);
        }
    }

    [Fact]
    public void GradientsFlowBackAcrossDevices()
    {
        using var x = Tensor.Randn([3, 4], new Random(9));
        x.RequiresGrad = true;
        using var onGpu = x.To(Cuda);
        using var back = onGpu.To(Device.Cpu);
        using var loss = (back * back).Sum();
        loss.Backward();
        Assert.NotNull(x.Grad);
        Assert.Equal(Device.Cpu, x.Grad!.Device);
        var expected = x.ToArray<float>().Select(v => 2 * v).ToArray();
        Assert.Equal(expected, x.Grad.ToArray<float>());
    }

    [Fact]
    public void MovingToTheSameDeviceSharesStorage()
    {
        using var onGpu = Tensor.Ones([2, 2]).To(Cuda);
        using var same = onGpu.To(Cuda);
        Assert.Same(onGpu.Storage, same.Storage);
    }

    [Fact]
    public void EmptyTensorsMove()
    {
        using var empty = Tensor.Zeros([0, 3]);
        using var onGpu = empty.To(Cuda);
        using var back = onGpu.To(Device.Cpu);
        Assert.Equal([0, 3], back.ShapeArray());
    }

    [Fact]
    public void GpuViewsAreTypedByElementSize()
    {
        using var onGpu = Tensor.Ones([8], DType.F16).To(Cuda);
        Assert.Equal(8, onGpu.AsGpuView<ushort>().Length);
        Assert.Throws<InvalidOperationException>(() => onGpu.AsGpuView<float>());
        using var host = Tensor.Ones([8]);
        Assert.Contains("not on a cuda device", Assert.Throws<InvalidOperationException>(() => host.AsGpuView<float>()).Message);
    }

    [Fact]
    public void AnotherSimulatedIndexIsRefusedClearly()
    {
        using var host = Tensor.Ones([2]);
        var error = Assert.Throws<GpuUnavailableException>(() => host.To(Device.Cuda(1)));
        Assert.Contains("cuda:1", error.Message);
        Assert.Contains("only cuda:0", error.Message);
    }
}

using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels.Tests.Cuda;

/// <summary>The caching allocator on the CPU accelerator: reuse, accounting, size classes, the out-of-memory path.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public class GpuMemoryPoolTests(CpuAcceleratorFixture gpu)
{
    const long MiB = 1L << 20;

    [Theory]
    [InlineData(0, 512)]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData((1 << 20) + 1, 2 << 20)]
    [InlineData((2 << 20) + 1, 4 << 20)]
    [InlineData(100_000_000, 100_663_296)]
    public void SizeClassesRoundUpAsDocumented(long request, long expected) => Assert.Equal(expected, GpuSizeClasses.Of(request));

    [Fact]
    public void SizeClassWasteStaysUnderTheDocumentedBound()
    {
        var rng = new Random(5);
        for (int i = 0; i < 10_000; i++)
        {
            long request = rng.NextInt64(0, 1L << 32);
            long size = GpuSizeClasses.Of(request);
            Assert.True(size >= request, $"{request} got {size}");
            long bound = request <= GpuSizeClasses.SmallLimit ? GpuSizeClasses.SmallGranularity : GpuSizeClasses.LargeGranularity;
            Assert.True(size - request < bound, $"{request} got {size}: waste {size - request} ≥ {bound}");
        }
    }

    [Fact]
    public void ASecondAllocationOfTheSameClassReusesTheBlockWithoutTheDriver()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator);
        var first = pool.Allocate(1000);
        long address = first.Bytes.LoadEffectiveAddressAsPtr().ToInt64();
        first.Dispose();
        var afterFree = pool.Statistics;
        Assert.Equal(0, afterFree.BytesInUse);
        Assert.Equal(1024, afterFree.BytesCached);

        using var second = pool.Allocate(900); // same class (1024 B)
        var stats = pool.Statistics;
        Assert.Equal(1, stats.DriverAllocations);
        Assert.Equal(1, stats.CacheHits);
        Assert.Equal(2, stats.Requests);
        Assert.Equal(address, second.Bytes.LoadEffectiveAddressAsPtr().ToInt64());
        Assert.Equal(900, second.RequestedBytes);
        Assert.Equal(1024, second.SizeInBytes);
    }

    [Fact]
    public void StatisticsAddUpOverRandomAllocationsAndFrees()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator);
        var rng = new Random(17);
        var live = new List<GpuMemoryBlock>();
        long expectedInUse = 0, peak = 0;
        for (int step = 0; step < 300; step++)
        {
            if (live.Count > 0 && rng.Next(3) == 0)
            {
                int victim = rng.Next(live.Count);
                expectedInUse -= live[victim].SizeInBytes;
                live[victim].Dispose();
                live.RemoveAt(victim);
            }
            else
            {
                long request = rng.Next(4) == 0 ? rng.NextInt64(MiB, 5 * MiB) : rng.NextInt64(0, 8192);
                var block = pool.Allocate(request);
                Assert.Equal(GpuSizeClasses.Of(request), block.SizeInBytes);
                expectedInUse += block.SizeInBytes;
                live.Add(block);
            }
            peak = Math.Max(peak, expectedInUse);
            var stats = pool.Statistics;
            Assert.Equal(expectedInUse, stats.BytesInUse);
            Assert.Equal(live.Count, stats.BlocksInUse);
            Assert.Equal(peak, stats.PeakBytesInUse);
            Assert.Equal(stats.Requests, stats.CacheHits + stats.DriverAllocations);
            Assert.Equal(stats.DriverAllocations, stats.BlocksInUse + stats.BlocksCached + stats.DriverFrees);
        }
        Assert.True(pool.Statistics.CacheHits > 0, "300 steps over a few classes must reuse blocks");
        foreach (var block in live) block.Dispose();
        Assert.Equal(0, pool.Statistics.BytesInUse);
    }

    [Fact]
    public void DifferentSizeClassesDoNotShareBlocks()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator);
        pool.Allocate(512).Dispose();
        using var larger = pool.Allocate(513);
        var stats = pool.Statistics;
        Assert.Equal(2, stats.DriverAllocations);
        Assert.Equal(0, stats.CacheHits);
        Assert.Equal(512, stats.BytesCached);
        Assert.Equal(1024, stats.BytesInUse);
    }

    [Fact]
    public void EmptyCacheGivesCachedBlocksBackAndKeepsThoseInUse()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator);
        using var kept = pool.Allocate(3 * MiB);
        pool.Allocate(1000).Dispose();
        pool.Allocate(5 * MiB).Dispose();
        pool.EmptyCache();
        var stats = pool.Statistics;
        Assert.Equal(0, stats.BytesCached);
        Assert.Equal(0, stats.BlocksCached);
        Assert.Equal(2, stats.DriverFrees);
        Assert.Equal(4 * MiB, stats.BytesInUse);
        pool.Allocate(1000).Dispose();
        Assert.Equal(4, pool.Statistics.DriverAllocations); // the cache was really emptied
    }

    [Fact]
    public void BlocksHoldWhatIsWrittenToThem()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator);
        var values = Enumerable.Range(0, 777).Select(i => (float)Math.Sin(i) * 1e3f).ToArray();
        using var block = pool.Allocate(values.Length * sizeof(float));
        ArrayView<float> view = block.View<float>();
        Assert.Equal(values.Length, view.Length);
        view.CopyFromCPU(values);
        Assert.Equal(values, gpu.Download(view));
    }

    [Fact]
    public void DisposingABlockTwiceReturnsItOnceAndAViewAfterDisposeIsRefused()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator);
        var block = pool.Allocate(64);
        block.Dispose();
        block.Dispose();
        Assert.Equal(1, pool.Statistics.BlocksCached);
        Assert.Throws<ObjectDisposedException>(() => block.View<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Allocate(64).View<float>(17));
    }

    [Fact]
    public void OutOfMemoryRetriesAfterFreeingTheCache()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator, capacityBytes: 6 * MiB);
        pool.Allocate(4 * MiB).Dispose(); // 4 MiB cached, in a class the next request cannot use
        using var block = pool.Allocate(6 * MiB); // 10 MiB would be held: the cache goes, then it fits
        var stats = pool.Statistics;
        Assert.Equal(0, stats.BytesCached);
        Assert.Equal(1, stats.DriverFrees);
        Assert.Equal(6 * MiB, stats.BytesInUse);
    }

    [Fact]
    public void OutOfMemoryAfterTheRetryNamesTheRequestAndTheStatistics()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator, capacityBytes: 6 * MiB);
        using var held = pool.Allocate(4 * MiB);
        pool.Allocate(512).Dispose();
        var error = Assert.Throws<GpuOutOfMemoryException>(() => pool.Allocate(3 * MiB));
        Assert.Equal(3 * MiB, error.RequestedBytes);
        Assert.Contains("3.00 MiB (3145728 B)", error.Message);
        Assert.Contains("size class 4.00 MiB", error.Message);
        Assert.Contains("capacity of 6.00 MiB", error.Message);
        Assert.Contains("in use 4.00 MiB", error.Message);
        Assert.Equal(0, error.Statistics.BytesCached); // the cache was freed before giving up
        Assert.Equal(4 * MiB, pool.Statistics.BytesInUse); // the failed request took nothing
    }

    [Fact]
    public void DriverOutOfMemoryErrorsAreRecognised()
    {
        // ILGPU's CudaException(CudaError) asks the driver for the error text, so without a driver only the other cases can be made here.
        Assert.False(GpuMemoryPool.IsOutOfMemory(new CudaException()));
        Assert.False(GpuMemoryPool.IsOutOfMemory(new InvalidOperationException("CUDA_ERROR_OUT_OF_MEMORY")));
        Assert.True(GpuMemoryPool.IsOutOfMemory(new OutOfMemoryException()));
    }

    [Fact]
    public async Task ConcurrentAllocationsKeepExactAccounts()
    {
        using var pool = new GpuMemoryPool(gpu.Accelerator);
        var tasks = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            var rng = new Random(t);
            for (int i = 0; i < 500; i++)
            {
                using var block = pool.Allocate(rng.Next(1, 4) * 512);
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var stats = pool.Statistics;
        Assert.Equal(0, stats.BytesInUse);
        Assert.Equal(2000, stats.Requests);
        Assert.Equal(stats.Requests, stats.CacheHits + stats.DriverAllocations);
        Assert.True(stats.DriverAllocations <= 12, $"4 threads × 3 classes need at most 12 blocks, got {stats.DriverAllocations}");
    }
}

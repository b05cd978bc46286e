using BenchmarkDotNet.Attributes;
using ILGPU;
using ILGPU.Runtime;
using TinyLlama.Kernels;

namespace TinyLlama.Benchmarks.Gpu;

/// <summary>
/// Base of the GPU benchmarks. It opens the device (<c>cuda</c>, or the one named by TINYLLAMA_BENCH_DEVICE, e.g.
/// cuda:1 or cuda-sim), allocates device buffers from the caching allocator, fills them with seeded random data,
/// and, for memory-bound kernels (<see cref="GpuMemoryBoundBenchmark"/>), holds the comparator measured in the same
/// run: a device-to-device copy of <see cref="CopyBytes"/> bytes.
///
/// <para><b>Timing.</b> Every benchmark method queues its launches on the device's stream and then calls
/// <c>stream.Synchronize()</c>, so BenchmarkDotNet's clock sees the kernel finish. At these sizes (≥ 64 MB a buffer,
/// ≥ 50 µs a launch) the synchronisation's few microseconds are inside the noise; figures for small kernels would
/// need OperationsPerInvoke with several launches per sync.</para>
///
/// <para><b>Validation.</b> Each derived GlobalSetup runs its kernels once at full size and compares a slice of the
/// outputs (the first rows) with the CPU reference on the same inputs, throwing before anything is timed. f32 is held
/// to 1e-4 relative, bf16 to 1e-2 (against the reference on the bf16-rounded inputs).</para>
///
/// <para><b>Work.</b> <see cref="Work"/> gives the bytes and floating-point operations of one invocation from the
/// parameters alone, so the columns (<see cref="GpuColumns"/>) can compute GB/s and TFLOP/s without the device.</para>
/// </summary>
public abstract class GpuBenchmark
{
    /// <summary>Environment variable naming the device: cuda (default), cuda:N or cuda-sim.</summary>
    public const string DeviceVariable = "TINYLLAMA_BENCH_DEVICE";

    /// <summary>Values are drawn for one chunk per seed and repeated: drawing 10⁹ randoms would take longer than the benchmark.</summary>
    protected const int RandomChunk = 1 << 20;

    readonly List<GpuMemoryBlock> blocks = [];
    readonly Dictionary<int, float[]> chunks = [];
    GpuMemoryBlock? copyFrom, copyTo;

    protected GpuDevice Device { get; private set; } = null!;

    protected AcceleratorStream Stream => Device.Stream;

    /// <summary>Bytes the copy comparator copies (the class's main buffer); 0 for classes without one (GEMM, attention).</summary>
    public virtual long CopyBytes => 0;

    /// <summary>Bytes read + written and floating-point operations of one invocation of <paramref name="method"/>; (0, 0) when not counted.</summary>
    public virtual (double Bytes, double Flops) Work(string method) => method == "DeviceCopy" ? (2.0 * CopyBytes, 0) : (0, 0);

    /// <summary>Sets the parameters to tiny sizes for <c>--smoke</c> (validation on the simulated device).</summary>
    public abstract void UseSmokeSizes();

    /// <summary>The device-to-device copy of <see cref="CopyBytes"/> bytes: the comparator of memory-bound kernels.</summary>
    protected void CopyOnce()
    {
        copyFrom!.Bytes.CopyTo(Stream, copyTo!.Bytes);
        Stream.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Device?.Synchronize();
        OnCleanup();
        foreach (var block in blocks) block.Dispose();
        blocks.Clear();
        copyFrom = copyTo = null;
        Device?.Memory.EmptyCache(); // the next case (2 GB of logits, 7 GB of AdamW state) starts from an empty cache
    }

    /// <summary>Whether a benchmark method can run after this setup (false for a comparator whose library is missing).</summary>
    public virtual bool CanRun(string method) => true;

    /// <summary>Releases what a derived class holds besides device blocks (e.g. a cuBLAS handle).</summary>
    protected virtual void OnCleanup() { }

    /// <summary>Opens the device and the copy comparator's buffers; call first in GlobalSetup.</summary>
    protected void Open()
    {
        string name = Environment.GetEnvironmentVariable(DeviceVariable) is { Length: > 0 } given ? given : "cuda";
        try
        {
            Device = GpuDevices.Get(name);
        }
        catch (GpuUnavailableException e)
        {
            throw new InvalidOperationException(
                $"{GetType().Name} needs a GPU: {e.Message}. Set {DeviceVariable}=cuda-sim to try it on the simulator (slow; use --smoke).", e);
        }
        Console.WriteLine($"// {GetType().Name}: {Device}");
        if (Device.IsSimulated)
        {
            // The simulator runs every lane as an OS thread: the real sizes would take hours. A BenchmarkDotNet run on it
            // checks the plumbing only; the columns print "sim" instead of figures.
            UseSmokeSizes();
            Console.WriteLine($"// {GetType().Name}: simulated device, tiny sizes; nothing measured here is a GPU figure");
        }
        if (CopyBytes <= 0) return;
        copyFrom = Allocate(CopyBytes);
        copyTo = Allocate(CopyBytes);
        FillBytes(copyFrom.Bytes);
        CopyOnce();
    }

    protected GpuMemoryBlock Allocate(long bytes)
    {
        var block = Device.Memory.Allocate(Math.Max(bytes, 4));
        blocks.Add(block);
        return block;
    }

    /// <summary>The host values behind <see cref="Random32"/> and <see cref="RandomBf16"/> of this seed (the chunk that repeats).</summary>
    protected float[] HostValues(int seed, float scale = 1)
    {
        if (!chunks.TryGetValue(seed, out var chunk))
        {
            var random = new Random(seed);
            chunk = new float[RandomChunk];
            for (int i = 0; i < chunk.Length; i++) chunk[i] = (float)(2 * random.NextDouble() - 1) + 1f / 64; // never all zeros
            chunks[seed] = chunk;
        }
        return scale == 1 ? chunk : chunk.Select(v => v * scale).ToArray();
    }

    /// <summary>The first <paramref name="count"/> values a buffer of this seed holds, as the kernel sees them.</summary>
    protected float[] Expected(int seed, int count, bool bf16, float scale = 1)
    {
        if (count > RandomChunk) throw new ArgumentOutOfRangeException(nameof(count), $"a validation slice is at most {RandomChunk} values");
        var values = HostValues(seed, scale).AsSpan(0, count).ToArray();
        return bf16 ? values.Select(v => BFloat16.ToFloat(BFloat16.FromFloat(v))).ToArray() : values;
    }

    protected ArrayView<float> Random32(long count, int seed, float scale = 1)
    {
        var view = Allocate(count * 4).View<float>(count);
        var chunk = HostValues(seed, scale);
        for (long done = 0; done < count; done += chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, count - done);
            Device.Transfers.Upload<float>(chunk.AsSpan(0, n), view.SubView(done, n));
        }
        return view;
    }

    protected ArrayView<ushort> RandomBf16(long count, int seed, float scale = 1)
    {
        var view = Allocate(count * 2).View<ushort>(count);
        var chunk = HostValues(seed, scale);
        var bits = new ushort[chunk.Length];
        BFloat16.FromFloat(chunk, bits);
        for (long done = 0; done < count; done += bits.Length)
        {
            int n = (int)Math.Min(bits.Length, count - done);
            Device.Transfers.Upload<ushort>(bits.AsSpan(0, n), view.SubView(done, n));
        }
        return view;
    }

    protected ArrayView<float> Zeros32(long count)
    {
        var view = Allocate(count * 4).View<float>(count);
        view.MemSetToZero(Stream);
        return view;
    }

    protected ArrayView<ushort> Zeros16(long count)
    {
        var view = Allocate(count * 2).View<ushort>(count);
        view.MemSetToZero(Stream);
        return view;
    }

    protected ArrayView<int> Integers(int count, int maxExclusive, int seed)
    {
        var random = new Random(seed);
        var values = new int[count];
        for (int i = 0; i < count; i++) values[i] = random.Next(maxExclusive);
        var view = Allocate(count * 4L).View<int>(count);
        Device.Transfers.Upload<int>(values, view);
        return view;
    }

    protected int[] Download(ArrayView<int> view, int count)
    {
        var values = new int[count];
        Device.Transfers.Download(view.SubView(0, count), values);
        return values;
    }

    protected float[] Download(ArrayView<float> view, int count)
    {
        var values = new float[count];
        Device.Transfers.Download(view.SubView(0, count), values);
        return values;
    }

    protected float[] Download(ArrayView<ushort> view, int count)
    {
        var bits = new ushort[count];
        Device.Transfers.Download(view.SubView(0, count), bits);
        var values = new float[count];
        BFloat16.ToFloat(bits, values);
        return values;
    }

    void FillBytes(ArrayView<byte> view)
    {
        var chunk = new byte[Math.Min(view.Length, 8L << 20)];
        new Random(7).NextBytes(chunk);
        for (long done = 0; done < view.Length; done += chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, view.Length - done);
            Device.Transfers.Upload<byte>(chunk.AsSpan(0, n), view.SubView(done, n));
        }
    }

    protected static double Tolerance(bool bf16) => bf16 ? 1e-2 : 1e-4;

    /// <summary>
    /// Throws unless every element is within <paramref name="tolerance"/> of the reference, relative to the larger of
    /// its magnitude and the slice's root-mean-square (so elements near zero do not fail a correct kernel). NaN fails.
    /// </summary>
    protected static void Validate(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        if (expected.Length != actual.Length)
            throw new InvalidOperationException($"{what}: {actual.Length} values to compare with {expected.Length}");
        double sumSq = 0;
        foreach (float e in expected) sumSq += (double)e * e;
        double floor = Math.Max(Math.Sqrt(sumSq / Math.Max(1, expected.Length)), 1e-30);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), floor);
            if (!(error <= tolerance))
                throw new InvalidOperationException(
                    $"{what}: element {i} is {actual[i]}, reference {expected[i]} (relative error {error:0.00e+00} > {tolerance:0e+00}); not timing a wrong kernel");
        }
    }

    protected static int ElementSize(bool bf16) => bf16 ? 2 : 4;
}

/// <summary>
/// A memory-bound GPU kernel's benchmark class: its kernels and, as a case of the same class with the same
/// parameters, <see cref="DeviceCopy"/> — ILGPU's device-to-device copy (cuMemcpyDtoDAsync) of the main buffer's
/// bytes, the speed a kernel that reads and writes each byte once can at best approach. "% of copy" is the kernel's
/// GB/s over the copy's.
/// </summary>
public abstract class GpuMemoryBoundBenchmark : GpuBenchmark
{
    [Benchmark]
    public void DeviceCopy() => CopyOnce();
}

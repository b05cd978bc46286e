using ILGPU;
using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// Device buffers of one GPU check run: uploads (as f32, or rounded to bf16), poisoned outputs (NaN in f32 and bf16
/// alike), downloads widened to f32. Every block goes back to the device's allocator when the scope is disposed,
/// after the stream has finished with it (downloads synchronise the stream).
/// </summary>
internal sealed class GpuScope(GpuDevice device) : IDisposable
{
    private readonly List<GpuMemoryBlock> _blocks = [];

    public GpuDevice Device => device;

    /// <summary>A buffer of <see cref="Length"/> elements stored as f32 or bf16 (ushort).</summary>
    public sealed record Buffer(GpuMemoryBlock Block, long Length, bool Bf16)
    {
        public ArrayView<float> F32 => Bf16 ? throw new InvalidOperationException("a bf16 buffer read as f32") : Block.View<float>(Length);
        public ArrayView<ushort> Bf16View => Bf16 ? Block.View<ushort>(Length) : throw new InvalidOperationException("an f32 buffer read as bf16");
    }

    public Buffer Upload(float[] values, bool bf16)
    {
        var buffer = Allocate(values.Length, bf16);
        if (bf16) device.Transfers.Upload<ushort>(ToBf16(values), buffer.Bf16View);
        else device.Transfers.Upload<float>(values, buffer.F32);
        return buffer;
    }

    public ArrayView<int> Upload(int[] values)
    {
        var block = Track(device.Memory.Allocate(Math.Max(4L, values.Length * 4L)));
        var view = block.View<int>(values.Length);
        device.Transfers.Upload<int>(values, view);
        return view;
    }

    /// <summary>An output every bit of which is 1: NaN as f32 and as bf16, so an element the kernel skips fails.</summary>
    public Buffer Poisoned(long length, bool bf16)
    {
        var buffer = Allocate(length, bf16);
        var poison = new byte[buffer.Block.RequestedBytes];
        Array.Fill(poison, (byte)0xFF);
        device.Transfers.Upload<byte>(poison, buffer.Block.Bytes);
        return buffer;
    }

    public float[] Download(Buffer buffer)
    {
        if (!buffer.Bf16)
        {
            var values = new float[buffer.Length];
            device.Transfers.Download(buffer.F32, values);
            return values;
        }
        var bits = new ushort[buffer.Length];
        device.Transfers.Download(buffer.Bf16View, bits);
        return Widen(bits);
    }

    public int[] Download(ArrayView<int> view)
    {
        var values = new int[view.Length];
        device.Transfers.Download(view, values);
        return values;
    }

    private Buffer Allocate(long length, bool bf16) =>
        new(Track(device.Memory.Allocate(Math.Max(4L, length * (bf16 ? 2 : 4)))), length, bf16);

    private GpuMemoryBlock Track(GpuMemoryBlock block)
    {
        _blocks.Add(block);
        return block;
    }

    public void Dispose()
    {
        device.Stream.Synchronize();
        foreach (var block in _blocks) block.Dispose();
        _blocks.Clear();
    }

    public static ushort[] ToBf16(float[] values)
    {
        var bits = new ushort[values.Length];
        BFloat16.FromFloat(values, bits);
        return bits;
    }

    public static float[] Widen(ushort[] bits)
    {
        var values = new float[bits.Length];
        BFloat16.ToFloat(bits, values);
        return values;
    }

    /// <summary>The values the kernel sees: the same array for f32, each rounded to bf16 (and widened back) for bf16.</summary>
    public static float[] AsStored(float[] values, bool bf16) => bf16 ? Widen(ToBf16(values)) : values;
}

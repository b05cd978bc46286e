namespace TinyLlama.Tensors;

public sealed partial class Tensor
{
    /// <summary>A contiguous copy (not recorded by autograd unless via <see cref="Clone"/>).</summary>
    internal Tensor CopyContiguous()
    {
        ThrowIfDisposed("copy");
        if (Device.Kind == DeviceKind.Cuda) return CopyContiguousOnGpu();
        var result = new Tensor(ShapeArray(), DType, zeroed: false);
        CopyElements(this, result);
        return result;
    }

    /// <summary>Copies src into dst element by element; same shape and dtype, any strides.</summary>
    internal static unsafe void CopyElements(Tensor src, Tensor dst)
    {
        if (!src.Shape.SequenceEqual(dst.Shape) || src.DType != dst.DType)
            throw new ArgumentException($"copy: source {src.ShapeText} {src.DType.Name()} does not match destination {dst.ShapeText} {dst.DType.Name()}");
        if (src.Numel == 0) return;
        int size = src.DType.SizeInBytes();
        byte* s = (byte*)src.CpuStorageFor("copy").Pointer;
        byte* d = (byte*)dst.CpuStorageFor("copy").Pointer;
        if (src.IsContiguous && dst.IsContiguous)
        {
            Buffer.MemoryCopy(s + src.Offset * size, d + dst.Offset * size, dst.Numel * size, src.Numel * size);
            return;
        }
        int rank = src.Rank;
        int cols = rank == 0 ? 1 : src.Shape[rank - 1];
        long ss = rank == 0 ? 1 : src._strides[rank - 1], ds = rank == 0 ? 1 : dst._strides[rank - 1];
        var shape = rank == 0 ? [1] : src._shape;
        var strides = rank == 0 ? new[] { new long[] { 0 }, new long[] { 0 } } : new[] { src._strides, dst._strides };
        StridedLoop.ForEachRow(shape, strides, [src.Offset, dst.Offset], offsets =>
        {
            byte* sp = s + offsets[0] * size, dp = d + offsets[1] * size;
            if (ss == 1 && ds == 1) { Buffer.MemoryCopy(sp, dp, (long)cols * size, (long)cols * size); return; }
            switch (size)
            {
                case 2: for (int i = 0; i < cols; i++) ((ushort*)dp)[i * ds] = ((ushort*)sp)[i * ss]; break;
                case 4: for (int i = 0; i < cols; i++) ((uint*)dp)[i * ds] = ((uint*)sp)[i * ss]; break;
                default: for (int i = 0; i < cols; i++) ((ulong*)dp)[i * ds] = ((ulong*)sp)[i * ss]; break;
            }
        });
    }
}

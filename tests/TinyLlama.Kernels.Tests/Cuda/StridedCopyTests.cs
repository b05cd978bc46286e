using ILGPU;

namespace TinyLlama.Kernels.Tests.Cuda;

/// <summary>The gather kernel behind Contiguous() of a cuda tensor, against index arithmetic on the CPU.</summary>
[Collection(CpuAcceleratorCollection.Name)]
public class StridedCopyTests(CpuAcceleratorFixture gpu)
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(4, 8)]
    [InlineData(6, 2)]
    [InlineData(6, 4)]
    public void GatherMatchesTheCpuForRandomPermutedSlicedViews(int rank, int elementSize)
    {
        var rng = new Random(rank * 10 + elementSize);
        for (int trial = 0; trial < 4; trial++)
        {
            // A random contiguous storage shape, then a permutation and a narrowing of each axis: a general view.
            int[] full = Enumerable.Range(0, rank).Select(_ => rng.Next(1, 5)).ToArray();
            long[] fullStrides = new long[rank];
            for (int d = rank - 1, s = 1; d >= 0; s *= full[d], d--) fullStrides[d] = s;
            int[] order = Enumerable.Range(0, rank).OrderBy(_ => rng.Next()).ToArray();
            int[] shape = new int[rank];
            long[] strides = new long[rank];
            long offset = 0;
            for (int d = 0; d < rank; d++)
            {
                int axis = order[d], start = rng.Next(full[axis]);
                shape[d] = rng.Next(1, full[axis] - start + 1);
                strides[d] = fullStrides[axis];
                offset += start * fullStrides[axis];
            }
            long storageElements = full.Aggregate(1L, (a, b) => a * b);
            var source = new byte[storageElements * elementSize];
            rng.NextBytes(source);
            long count = shape.Aggregate(1L, (a, b) => a * b);

            var expected = new byte[count * elementSize];
            var index = new int[rank];
            for (long i = 0; i < count; i++)
            {
                long at = offset;
                for (int d = 0; d < rank; d++) at += index[d] * strides[d];
                Array.Copy(source, at * elementSize, expected, i * elementSize, elementSize);
                for (int d = rank - 1; d >= 0 && ++index[d] == shape[d]; d--) index[d] = 0;
            }

            using var src = gpu.Upload<byte>(source);
            using var dst = gpu.Poisoned<byte>((int)(count * elementSize));
            gpu.Kernels.Get<StridedCopyGpu>().Gather(gpu.Stream, src.View, dst.View, StridedLayout.Create(shape, Array.ConvertAll(strides, s => (int)s), (int)offset), elementSize);
            Assert.Equal(expected, gpu.Download(dst));
        }
    }

    [Fact]
    public void LayoutsPastTheMaximumRankAreRefused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => StridedLayout.Create(new int[7], new int[7], 0));
        Assert.Contains("expected 1..6", error.Message);
    }

    [Fact]
    public void GatherRefusesAnElementSizeItCannotMove()
    {
        using var src = gpu.Upload<byte>(new byte[12]);
        using var dst = gpu.Poisoned<byte>(12);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            gpu.Kernels.Get<StridedCopyGpu>().Gather(gpu.Stream, src.View, dst.View, StridedLayout.Contiguous([4]), 3));
        Assert.Contains("elementSize is 3 bytes", error.Message);
    }
}

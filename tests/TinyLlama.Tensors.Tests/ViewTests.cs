using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

public class ViewTests
{
    private static Tensor Iota(params int[] shape)
    {
        using var flat = Tensor.Arange((int)Shapes.Numel(shape));
        return flat.Reshape(shape);
    }

    [Fact]
    public void Reshape_SharesStorage_AndKeepsOrder()
    {
        using var a = Iota(2, 3);
        using var b = a.Reshape(3, -1);
        Assert.Equal([3, 2], b.ShapeArray());
        Assert.Same(a.Storage, b.Storage);
        Assert.Equal(new double[] { 0, 1, 2, 3, 4, 5 }, b.ToDoubleArray());
    }

    [Fact]
    public void Transpose_IsAView_ContiguousCopiesInTransposedOrder()
    {
        using var a = Iota(2, 3);
        using var t = a.Transpose();
        Assert.False(t.IsContiguous);
        Assert.Same(a.Storage, t.Storage);
        Assert.Equal(new double[] { 0, 3, 1, 4, 2, 5 }, t.ToDoubleArray());
        using var c = t.Contiguous();
        Assert.True(c.IsContiguous);
        Assert.NotSame(a.Storage, c.Storage);
    }

    [Fact]
    public void Permute_Narrow_Slice_Select()
    {
        using var a = Iota(2, 3, 4);
        using var p = a.Permute(2, 0, 1);
        Assert.Equal([4, 2, 3], p.ShapeArray());
        Assert.Equal(a.ToDoubleArray()[1 * 12 + 2 * 4 + 3], p.ToDoubleArray()[3 * 6 + 1 * 3 + 2]);
        using var n = a.Narrow(2, 1, 2);
        Assert.Equal(new double[] { 1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22 }, n.ToDoubleArray());
        using var s = a.Slice(1, -1, 3);
        Assert.Equal([2, 1, 4], s.ShapeArray());
        Assert.Equal(new double[] { 8, 9, 10, 11, 20, 21, 22, 23 }, s.ToDoubleArray());
    }

    [Fact]
    public void Storage_IsFreedWhenTheLastViewIsDisposed()
    {
        var a = Iota(4, 4);
        var storage = a.Storage;
        var v = a.Transpose();
        a.Dispose();
        Assert.False(storage.IsReleased);
        using (var row = v.Narrow(0, 0, 1))
            Assert.Equal(new double[] { 0, 4, 8, 12 }, row.ToDoubleArray());
        v.Dispose();
        Assert.True(storage.IsReleased);
    }

    [Fact]
    public void UseAfterDispose_NamesTheOpAndShape()
    {
        var a = Tensor.Zeros([2, 5]);
        a.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => a.Reshape(10));
        Assert.Contains("reshape", e.Message);
        Assert.Contains("(2, 5)", e.Message);
    }

    [Fact]
    public void TensorScope_DisposesWhatItCreated_ButNotWhatItKeeps()
    {
        Tensor inner, kept;
        using (var scope = new TensorScope())
        {
            inner = Tensor.Ones([3]);
            kept = scope.Keep(Tensor.Ones([3]) * 2.0);
        }
        Assert.True(inner.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.Equal(new double[] { 2, 2, 2 }, kept.ToDoubleArray());
        kept.Dispose();
    }

    [Fact]
    public void BadReshape_NamesShapes()
    {
        using var a = Tensor.Zeros([2, 3]);
        var e = Assert.Throws<ArgumentException>(() => a.Reshape(4, 2));
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("(4, 2)", e.Message);
    }
}

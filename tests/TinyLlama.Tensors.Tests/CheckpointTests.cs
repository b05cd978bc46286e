using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

public class CheckpointTests
{
    private static Func<Tensor, Tensor> Block(Tensor w) => t => Functional.Silu(t.MatMul(w));

    /// <summary>loss = Σ y², so every output element's gradient differs.</summary>
    private static double BackwardOfSquares(Tensor y)
    {
        using var scope = new TensorScope();
        var loss = (y * y).Sum();
        loss.Backward();
        return loss.Item();
    }

    [Fact]
    public void Gradients_OfInputAndParameter_EqualThoseWithoutCheckpointing()
    {
        var rng = new Random(3);
        using var x = GradCheck.Randn(rng, 4, 3);
        using var w = GradCheck.Randn(rng, 3, 5);

        double plain;
        using (var scope = new TensorScope()) plain = BackwardOfSquares(Block(w)(x));
        var (dxPlain, dwPlain) = (x.Grad!.ToDoubleArray(), w.Grad!.ToDoubleArray());
        x.ZeroGrad();
        w.ZeroGrad();

        double checkpointed;
        using (var scope = new TensorScope())
        {
            var y = Functional.Checkpoint(Block(w), x);
            Assert.True(y.RequiresGrad);
            Assert.Equal("checkpoint", y.GradFn!.Name);
            checkpointed = BackwardOfSquares(y);
        }

        Assert.Equal(plain, checkpointed);
        Assert.Equal(dxPlain, x.Grad!.ToDoubleArray());
        Assert.Equal(dwPlain, w.Grad!.ToDoubleArray());
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        var rng = new Random(5);
        using var x = GradCheck.Randn(rng, 3, 4);
        using var w = GradCheck.Randn(rng, 4, 2);
        GradCheck.Check(inputs => Functional.Checkpoint(Block(inputs[1]), inputs[0]), [x, w]);
    }

    [Fact]
    public void Forward_FreesTheBlocksActivations_AndBackwardRecomputesTheBlockOnce()
    {
        var rng = new Random(7);
        using var x = GradCheck.Randn(rng, 4, 3);
        using var w = GradCheck.Randn(rng, 3, 5);
        int calls = 0;
        var hidden = new List<TensorStorage>();
        Tensor Counted(Tensor t)
        {
            calls++;
            var h = t.MatMul(w);
            hidden.Add(h.Storage);
            return Functional.Silu(h);
        }

        using var scope = new TensorScope();
        var plain = Counted(x);
        Assert.False(hidden[0].IsReleased);  // without checkpointing, SiLU keeps its input for backward

        int xRefs = x.Storage.RefCount;
        var y = Functional.Checkpoint(Counted, x);
        Assert.True(hidden[1].IsReleased);   // with it, the block's intermediates are gone when it returns
        Assert.Equal(xRefs + 1, x.Storage.RefCount); // and the recorded step holds only x
        Assert.Equal(2, calls);

        BackwardOfSquares(y);
        Assert.Equal(3, calls);
        Assert.True(hidden[2].IsReleased);   // the recomputed graph is freed with the nested backward
    }

    [Fact]
    public void PostAccumulateGradHooks_FireOncePerParameter_LaterBlocksFirst()
    {
        // x → first block (w1) → second block (w2) → scale by a parameter outside any block (s).
        var rng = new Random(11);
        using var x = GradCheck.Randn(rng, 2, 3);
        using var w1 = GradCheck.Randn(rng, 3, 3);
        using var w2 = GradCheck.Randn(rng, 3, 3);
        using var s = GradCheck.Randn(rng, 3);
        var events = new List<string>();
        using var h1 = w1.RegisterPostAccumulateGradHook(_ => events.Add("w1"));
        using var h2 = w2.RegisterPostAccumulateGradHook(_ => events.Add(w1.Grad is null ? "w2 (w1 pending)" : "w2 (w1 done)"));
        using var hs = s.RegisterPostAccumulateGradHook(_ => events.Add("s"));

        using (var scope = new TensorScope())
        {
            var h = Functional.Checkpoint(Block(w1), x);
            var y = Functional.Checkpoint(Block(w2), h) * s;
            BackwardOfSquares(y);
        }

        Assert.Equal(["s", "w2 (w1 pending)", "w1"], events);
        foreach (var p in new[] { x, w1, w2, s }) Assert.NotNull(p.Grad);
    }

    [Fact]
    public void UnderNoGrad_ItIsJustTheBlock()
    {
        var rng = new Random(13);
        using var x = GradCheck.Randn(rng, 2, 3);
        using var w = GradCheck.Randn(rng, 3, 4);
        using var scope = new TensorScope();
        using var noGrad = GradMode.NoGrad();
        var expected = Block(w)(x).ToDoubleArray();
        var y = Functional.Checkpoint(Block(w), x);
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
        Assert.Equal(expected, y.ToDoubleArray());
    }

    [Fact]
    public void InputWithoutGrad_StillGivesTheParameterItsGradient()
    {
        var rng = new Random(17);
        using var x = Tensor.Randn([4, 3], rng, dtype: DType.F64);
        using var w = GradCheck.Randn(rng, 3, 5);
        using (var scope = new TensorScope()) BackwardOfSquares(Block(w)(x));
        var expected = w.Grad!.ToDoubleArray();
        w.ZeroGrad();

        TensorStorage? hidden = null;
        using (var scope = new TensorScope())
        {
            var y = Functional.Checkpoint(t => { var h = t.MatMul(w); hidden = h.Storage; return Functional.Silu(h); }, x);
            Assert.True(y.RequiresGrad);
            Assert.True(hidden!.IsReleased);  // the forward that found out ran with grad, and its graph is gone
            BackwardOfSquares(y);
        }
        Assert.Equal(expected, w.Grad!.ToDoubleArray());
        Assert.Null(x.Grad);
    }

    [Fact]
    public void NothingRequiresGrad_GivesAPlainResult()
    {
        using var x = Tensor.FromArray([1.0, -2.0]);
        using var w = Tensor.FromArray([3.0, 4.0]);
        using var y = Functional.Checkpoint(t => t * w, x);
        Assert.False(y.RequiresGrad);
        Assert.Equal(new double[] { 3, -8 }, y.ToDoubleArray());
    }

    [Fact]
    public void IdentityBlock_PassesTheGradientThrough_WithoutTouchingX()
    {
        using var x = Tensor.FromArray([1.0, 2.0]).RequireGrad();
        using (var scope = new TensorScope())
        {
            var y = Functional.Checkpoint(t => t, x);
            Assert.NotSame(x, y);
            Assert.True(x.IsLeaf);
            BackwardOfSquares(y);
        }
        Assert.False(x.IsDisposed);
        Assert.Equal(new double[] { 2, 4 }, x.Grad!.ToDoubleArray());
    }

    [Fact]
    public void NestedCheckpoints_GiveTheSameGradients()
    {
        var rng = new Random(19);
        using var x = GradCheck.Randn(rng, 3, 3);
        using var w1 = GradCheck.Randn(rng, 3, 3);
        using var w2 = GradCheck.Randn(rng, 3, 3);
        Tensor Both(Tensor t) => Block(w2)(Block(w1)(t));

        using (var scope = new TensorScope()) BackwardOfSquares(Both(x));
        var expected = new[] { x, w1, w2 }.Select(p => p.Grad!.ToDoubleArray()).ToArray();
        foreach (var p in new[] { x, w1, w2 }) p.ZeroGrad();

        using (var scope = new TensorScope())
            BackwardOfSquares(Functional.Checkpoint(t => Functional.Checkpoint(Block(w2), Block(w1)(t)), x));
        Assert.Equal(expected, new[] { x, w1, w2 }.Select(p => p.Grad!.ToDoubleArray()).ToArray());
    }

    [Fact]
    public void ABlockThatChangesBetweenForwardAndBackward_IsReported()
    {
        using var x = Tensor.FromArray([1.0, 2.0, 3.0, 4.0]).RequireGrad();
        int calls = 0;
        using var scope = new TensorScope();
        var y = Functional.Checkpoint(t => ++calls == 1 ? t * 2.0 : t.Narrow(0, 0, 2) * 2.0, x);
        var e = Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
        Assert.Contains("checkpoint", e.Message);
        Assert.Contains("(2)", e.Message);
        Assert.Contains("(4)", e.Message);
    }

    [Fact]
    public void EnableGrad_TurnsRecordingOnInsideNoGrad_AndRestoresIt()
    {
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            using (GradMode.EnableGrad())
            {
                Assert.True(GradMode.IsEnabled);
                using (GradMode.NoGrad()) Assert.False(GradMode.IsEnabled);
                Assert.True(GradMode.IsEnabled);
            }
            Assert.False(GradMode.IsEnabled);
        }
        Assert.True(GradMode.IsEnabled);
    }
}

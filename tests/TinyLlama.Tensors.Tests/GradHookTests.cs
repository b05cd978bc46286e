using TinyLlama.Tensors;

namespace TinyLlama.Tensors.Tests;

public class GradHookTests
{
    [Fact]
    public void Hook_SeesTheFinalGradient_OfALeafUsedTwice_OncePerBackward()
    {
        using var w = Tensor.FromArray([2.0, 3.0]).RequireGrad();
        using var a = Tensor.FromArray([1.0, 1.0]);
        var seen = new List<double[]>();
        using var handle = w.RegisterPostAccumulateGradHook(t => seen.Add(t.Grad!.ToDoubleArray()));
        for (int pass = 0; pass < 2; pass++)
        {
            using var y = (w * a) * w;  // two edges into w: d/dw w² = 2w, accumulated over both passes
            using var s = y.Sum();
            s.Backward();
        }
        Assert.Equal(2, seen.Count);
        Assert.Equal(new double[] { 4, 6 }, seen[0]);
        Assert.Equal(new double[] { 8, 12 }, seen[1]);
    }

    [Fact]
    public void Hook_FiresWhileBackwardStillRuns_BeforeEarlierLayersGetTheirGradients()
    {
        // A two-layer chain: last · (first · x). Backward reaches `last` first; its hook must run before `first`
        // has a gradient, which is what lets data-parallel training reduce the last layers during backward.
        using var x = Tensor.FromArray([1.0, 2.0, 3.0, 4.0], 2, 2);
        using var first = Tensor.FromArray([0.5, -1.0, 2.0, 1.5], 2, 2).RequireGrad();
        using var last = Tensor.FromArray([1.0, 0.0, -2.0, 3.0], 2, 2).RequireGrad();
        var events = new List<string>();
        using var h1 = first.RegisterPostAccumulateGradHook(_ => events.Add("first"));
        using var h2 = last.RegisterPostAccumulateGradHook(_ => events.Add(first.Grad is null ? "last (first pending)" : "last (first done)"));
        using var hidden = first.MatMul(x);
        using var y = last.MatMul(hidden);
        using var s = y.Sum();
        s.Backward();
        Assert.Equal(["last (first pending)", "first"], events);
    }

    [Fact]
    public void Hook_IsNotCalled_ForALeafNoGradientReaches_OrAfterItsHandleIsDisposed()
    {
        using var used = Tensor.FromArray([1.0, 2.0]).RequireGrad();
        using var unused = Tensor.FromArray([3.0]).RequireGrad();
        int usedCalls = 0, unusedCalls = 0;
        var handle = used.RegisterPostAccumulateGradHook(_ => usedCalls++);
        using var other = unused.RegisterPostAccumulateGradHook(_ => unusedCalls++);
        using (var s = (used * used).Sum()) s.Backward();
        handle.Dispose();
        using (var s = (used * used).Sum()) s.Backward();
        Assert.Equal(1, usedCalls);
        Assert.Equal(0, unusedCalls);
        Assert.Null(unused.Grad);
    }

    [Fact]
    public void Hook_OnARootThatIsALeaf_Fires()
    {
        using var x = Tensor.FromArray([5.0]).RequireGrad();
        int calls = 0;
        using var handle = x.RegisterPostAccumulateGradHook(t => calls += t.Grad!.Item() == 1.0 ? 1 : 100);
        x.Backward();
        Assert.Equal(1, calls);
    }

    [Fact]
    public void Hook_OnANonLeaf_OrATensorWithoutGrad_IsRefused()
    {
        using var x = Tensor.FromArray([1.0]).RequireGrad();
        using var y = x * x;
        using var plain = Tensor.FromArray([1.0]);
        Assert.Contains("only leaves", Assert.Throws<InvalidOperationException>(() => y.RegisterPostAccumulateGradHook(_ => { })).Message);
        Assert.Contains("does not require grad", Assert.Throws<InvalidOperationException>(() => plain.RegisterPostAccumulateGradHook(_ => { })).Message);
    }

    [Fact]
    public void Grad_CanBeAssigned_WithTheTensorsShapeAndDType_Only()
    {
        using var w = Tensor.FromArray([1.0, 2.0]).RequireGrad();
        w.Grad = Tensor.FromArray([0.5, 0.25]);
        Assert.Equal(new double[] { 0.5, 0.25 }, w.Grad.ToDoubleArray());
        using var wrong = Tensor.FromArray([1.0, 2.0, 3.0]);
        Assert.Throws<ArgumentException>(() => w.Grad = wrong);
        using var wrongType = Tensor.FromArray([1f, 2f]);
        Assert.Throws<ArgumentException>(() => w.Grad = wrongType);
    }
}

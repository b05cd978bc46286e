using TinyLlama.Tensors;
using TinyLlama.Tensors.Modules;

namespace TinyLlama.Tensors.Tests;

public class ModuleTests
{
    private sealed class Block : Module
    {
        public Block()
        {
            Norm = RegisterModule("norm", new RmsNorm(4));
            Proj = RegisterModule("proj", new Linear(4, 3, bias: true, rng: new Random(1)));
            Embed = RegisterModule("embed", new Embedding(10, 4, new Random(2)));
        }

        public RmsNorm Norm { get; }
        public Linear Proj { get; }
        public Embedding Embed { get; }
    }

    [Fact]
    public void NamedParameters_AndStateDict_RoundTrip()
    {
        using var a = new Block();
        Assert.Equal(["norm.weight", "proj.weight", "proj.bias", "embed.weight"], a.NamedParameters().Select(p => p.Name).ToArray());
        Assert.Equal(4 + 12 + 3 + 40, a.ParameterCount());
        using var b = new Block();
        using (GradMode.NoGrad()) b.Proj.Weight.Fill(0.5);
        a.LoadStateDict(b.StateDict());
        Assert.All(a.Proj.Weight.ToDoubleArray(), v => Assert.Equal(0.5, v));
    }

    [Fact]
    public void LoadStateDict_WrongShape_NamesTheParameter()
    {
        using var a = new Block();
        using var wrong = Tensor.Zeros([3, 5]);
        var state = a.StateDict();
        state["proj.weight"] = wrong;
        var e = Assert.Throws<ArgumentException>(() => a.LoadStateDict(state));
        Assert.Contains("proj.weight", e.Message);
        Assert.Contains("(3, 5)", e.Message);
    }

    [Fact]
    public void Linear_ForwardAndBackward()
    {
        using var block = new Block();
        using var ids = Tensor.FromArray([1, 2, 3], 3);
        using var scope = new TensorScope();
        var h = block.Norm.Forward(block.Embed.Forward(ids));
        var y = block.Proj.Forward(h);
        Assert.Equal([3, 3], y.ShapeArray());
        y.Sum().Backward();
        Assert.NotNull(block.Proj.Weight.Grad);
        Assert.NotNull(block.Embed.Weight.Grad);
        // Only the looked-up rows of the table receive gradient.
        var g = block.Embed.Weight.Grad!.ToDoubleArray();
        Assert.All(g.Take(4), v => Assert.Equal(0, v));
        Assert.Contains(g.Skip(4).Take(12), v => v != 0);
        Assert.All(g.Skip(16), v => Assert.Equal(0, v));
    }
}

using TinyLlama.Cli.SelfTest;

namespace TinyLlama.Cli.Tests;

/// <summary>The check list itself: it covers every kernel, and its inputs are reproducible.</summary>
public class CpuChecksTests
{
    public static TheoryData<string> Sizes => new() { "small", "medium" };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void EveryKernelHasAForwardAndABackwardCheck(string size)
    {
        var shapes = size == "small" ? SelfTestShapes.Small : SelfTestShapes.Medium;
        var ops = CpuChecks.Create(shapes, seed: 1).Select(c => c.Op).ToList();

        string[] expected =
        [
            "gemm NN", "gemm NT", "gemm TN", "gemm TT",
            "rmsnorm forward", "rmsnorm backward", "softmax forward", "softmax backward",
            "rope forward", "rope backward", "silu forward", "silu backward", "swiglu forward", "swiglu backward",
            "cross-entropy forward", "cross-entropy backward", "embedding forward", "embedding backward",
            "attention forward", "attention backward", "bf16 round (scalar)", "bf16 round (span)",
        ];
        foreach (string op in expected) Assert.Contains(op, ops);
        Assert.Equal(ops.Count, ops.Distinct().Count());
    }

    [Fact]
    public void Bf16RoundingMustBeExact()
    {
        var bf16 = CpuChecks.Create(SelfTestShapes.Small, seed: 1).Where(c => c.Op.StartsWith("bf16")).ToList();

        Assert.NotEmpty(bf16);
        Assert.All(bf16, c => Assert.Equal(0, c.Tolerance));
    }

    [Fact]
    public void MediumUsesTheModelLikeShapes()
    {
        var shapes = SelfTestShapes.Medium;

        Assert.Equal((257, 129, 65), shapes.Gemm);
        Assert.Equal((64, 2048), shapes.RmsNorm);
        Assert.Equal((64, 4096), shapes.CrossEntropy);
        Assert.Equal((2, 8, 4, 64, 32), shapes.Attention);
    }

    [Fact]
    public void RandomDataDependsOnlyOnSeedAndName()
    {
        var first = new RandomData(5, "x").Uniform(1000);

        Assert.Equal(first, new RandomData(5, "x").Uniform(1000));
        Assert.NotEqual(first, new RandomData(6, "x").Uniform(1000));
        Assert.NotEqual(first, new RandomData(5, "y").Uniform(1000));
        Assert.All(first, v => Assert.InRange(v, -1f, 1f));
        Assert.DoesNotContain(0f, first);
    }
}

using TinyLlama.Cli.SelfTest;
using TinyLlama.Kernels;

namespace TinyLlama.Cli.Tests;

/// <summary>The GPU self-test on the simulated device: the same table as the CPU one, every GPU check passing.</summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuSelfTestTests
{
    [Fact]
    public void SimulatedDeviceSelfTestPassesEveryGpuCheck()
    {
        // No --size: the simulated device picks the tiny gpu-sim preset.
        var result = CliRunner.Run("selftest", "--device", "cuda-sim", "--seed", "5");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("device cuda:0 (simulated GPU", result.Output);
        Assert.Contains("size gpu-sim", result.Output);
        int expected = GpuChecks.Create(GpuDevices.Simulated, SelfTestShapes.GpuSimulated, seed: 5).Count;
        Assert.True(expected >= 4, $"the runtime's own checks come first; got {expected}");
        var rows = result.Output.Split('\n').Where(l => l.Contains("(gpu)", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected, rows.Count);
        Assert.All(rows, row => Assert.EndsWith("PASS", row.TrimEnd('\r')));
        Assert.Contains($"summary: {expected} checks, {expected} passed, 0 failed", result.Output);
        Assert.StartsWith("cast f32→bf16", rows[0]);
        foreach (string op in EveryGpuOp)
            Assert.True(rows.Any(r => r.StartsWith(op, StringComparison.Ordinal)), $"no row for '{op}' in\n{result.Output}");
    }

    /// <summary>Issue #5: every GPU kernel has a row, in f32 and bf16 where it has both storages.</summary>
    public static readonly string[] EveryGpuOp =
    [
        "rmsnorm forward f32", "rmsnorm forward bf16", "rmsnorm backward f32", "rmsnorm backward bf16",
        "rope forward q,k in place f32", "rope backward q,k in place bf16",
        "swiglu forward f32", "swiglu backward bf16",
        "softmax forward bf16", "softmax backward f32",
        "cross-entropy forward f32", "cross-entropy forward bf16", "cross-entropy backward f32", "cross-entropy backward bf16",
        "embedding forward bf16", "embedding backward f32", "embedding backward bf16→f32",
        "adamw step f32 grads", "adamw step bf16 grads + bf16 param copy", "grad norm + clip f32", "grad norm + clip bf16",
        "broadcast add f32", "broadcast mul bf16", "reduce rows sum f32", "reduce all sum,max bf16",
        "strided copy f32", "transpose bf16",
        "gemm NN bf16 tensor-core", "gemm NT bf16 tensor-core", "gemm TN bf16 tensor-core", "gemm TT bf16 tensor-core",
        "gemm NT bf16 tensor-core cp.async", "gemm NN f32 simt",
        "flash attention forward f32", "flash attention forward bf16", "flash attention backward f32", "flash attention backward bf16",
    ];

    [Theory]
    [InlineData("cpu", null, "medium")]
    [InlineData("cuda", null, "gpu")]
    [InlineData("cuda:1", null, "gpu")]
    [InlineData("cuda-sim", null, "gpu-sim")]
    [InlineData("cuda", "small", "small")]
    public void EachDeviceHasItsDefaultSizes(string device, string? size, string expected)
    {
        if (device.StartsWith("cuda:", StringComparison.Ordinal) && GpuDevices.IsSimulated) return; // the process simulates: cuda means cuda-sim
        Assert.Equal(expected, TinyLlama.Cli.Commands.SelfTestCommand.ChooseShapes(size, device).Name);
    }

    [Fact]
    public void TheGpuPresetHasTheIssuesSizes()
    {
        var gpu = SelfTestShapes.Gpu;
        Assert.Equal((16384, 2048), gpu.RmsNorm);
        Assert.Equal(32000, gpu.CrossEntropy.Vocab);
        Assert.Equal((2048, 2048, 2048), gpu.Gemm);
        Assert.Equal(64, gpu.FlashAttention.Hs);
        Assert.Equal(2048, gpu.FlashAttention.T);
        Assert.Contains(gpu.FlashAttention.Hs, FlashAttentionGpu.SupportedHeadSizes);
        Assert.Contains(SelfTestShapes.GpuSimulated.FlashAttention.Hs, FlashAttentionGpu.SupportedHeadSizes);
    }

    [Fact]
    public void AGpuCheckThatDisagreesFails()
    {
        // The checks compare with exact tolerance: a wrong value in one lane must fail the row.
        var check = GpuChecks.Create(GpuDevices.Simulated, SelfTestShapes.Small, seed: 1)[0];
        var broken = check with { RunFast = () => { var r = check.RunFast(); r[0][17] += 1e-3f; return r; } };
        Assert.False(SelfTestRunner.Evaluate(broken).Passed);
        Assert.True(SelfTestRunner.Evaluate(check).Passed);
    }
}

using TinyLlama.Cli.SelfTest;
using TinyLlama.Kernels;

namespace TinyLlama.Cli.Tests;

/// <summary>The GPU self-test on the simulated device: the same table as the CPU one, every GPU check passing.</summary>
public class GpuSelfTestTests
{
    [Fact]
    public void SimulatedDeviceSelfTestPassesEveryGpuCheck()
    {
        var result = CliRunner.Run("selftest", "--device", "cuda-sim", "--size", "small", "--seed", "5");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("device cuda:0 (simulated GPU", result.Output);
        int expected = GpuChecks.Create(GpuDevices.Simulated, SelfTestShapes.Small, seed: 5).Count;
        Assert.True(expected >= 4, $"the runtime's own checks come first; got {expected}");
        var rows = result.Output.Split('\n').Where(l => l.Contains("(gpu)", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected, rows.Count);
        Assert.All(rows, row => Assert.EndsWith("PASS", row.TrimEnd('\r')));
        Assert.Contains($"summary: {expected} checks, {expected} passed, 0 failed", result.Output);
        Assert.StartsWith("cast f32→bf16", rows[0]);
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

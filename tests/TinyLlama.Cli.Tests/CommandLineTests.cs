using TinyLlama.Cli.Commands;

namespace TinyLlama.Cli.Tests;

/// <summary>The parser's behaviour: help, the unavailable CUDA device, and bad input.</summary>
public class CommandLineTests
{
    [Fact]
    public void RootHelpDescribesTheToolAndListsSelfTest()
    {
        var result = CliRunner.Run("--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("TinyLlama", result.Output);
        Assert.Contains("selftest", result.Output);
    }

    [Fact]
    public void SelfTestHelpListsEveryOptionAndItsValues()
    {
        var result = CliRunner.Run("selftest", "--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (string expected in new[] { "--device", "--seed", "--size", "cpu", "cuda", "small", "medium" })
            Assert.Contains(expected, result.Output);
    }

    [Fact]
    public void CudaWithoutADriverExitsTwoNamingWhatWasLookedFor()
    {
        var probe = TinyLlama.Kernels.CudaDriverLibrary.Look();
        if (probe.Problem is null && probe.DeviceCount > 0) return; // a machine with a GPU runs the GPU self-test instead

        var result = CliRunner.Run("selftest", "--device", "cuda");

        Assert.True(result.ExitCode == SelfTestCommand.ExitUnavailable, result.ToString());
        Assert.Equal(2, SelfTestCommand.ExitUnavailable);
        Assert.Contains("error: cuda:0 was asked for, but ", result.Error);
        Assert.Contains(probe.LoadedFrom ?? "libcuda.so.1", result.Error);
        Assert.Contains("--device cuda-sim", result.Error);
        Assert.DoesNotContain("PASS", result.Output);
    }

    [Theory]
    [InlineData("selftest", "--bogus")]
    [InlineData("selftest", "--size", "huge")]
    [InlineData("selftest", "--device", "tpu")]
    [InlineData("selftest", "--device", "cuda:-1")]
    [InlineData("selftest", "--seed", "not-a-number")]
    [InlineData("no-such-command")]
    public void BadInputExitsNonZeroWithAnError(params string[] args)
    {
        var result = CliRunner.Run(args);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.False(string.IsNullOrWhiteSpace(result.Error), result.ToString());
        Assert.DoesNotContain("PASS", result.Output);
    }
}

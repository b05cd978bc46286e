using System.Globalization;
using System.Text.RegularExpressions;
using TinyLlama.Cli.Commands;
using TinyLlama.Model;

namespace TinyLlama.Cli.Tests;

/// <summary>
/// <c>bench train</c> on a CUDA device: the figures it reports on the simulated device, its device and precision
/// checks, and the FLOP count its MFU (and tools/reference/hf_train_step.py's) rests on.
///
/// <para>The cuda-sim run is a child process. <c>--device cuda-sim</c> calls <c>GpuDevices.UseSimulator()</c>, which
/// makes cuda:0 the simulator for the rest of the process and cannot be undone; in this test process that would
/// break the tests that expect a real "cuda" to be missing or real (CommandLineTests'
/// <c>selftest --device cuda</c> exiting 2 without a driver, GpuSelfTestTests' "cuda" defaulting to the gpu sizes)
/// whenever xunit happened to run them later. The child process is in the simulated-GPU collection only so that it
/// does not compete for the cores with the in-process simulator tests.</para>
/// </summary>
[Collection(SimulatedGpuCollection.Name)]
public class BenchTrainGpuTests
{
    [Fact]
    public void SimulatedDeviceReportsTokensPerSecondMfuAndPeakMemory()
    {
        var r = CliRunner.RunChild(TimeSpan.FromMinutes(5),
            "bench", "train", "--preset", "nano", "--device", "cuda-sim", "--batch-size", "1", "--seq-len", "16", "--steps", "1", "--warmup", "0");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("cuda:0 (simulated GPU", r.Output);
        Assert.Contains("bf16 activations, f32 weights", r.Output); // bf16 is the cuda default
        double loss = Number(r, @"^step 1: \d+ ms, loss (\S+)");
        Assert.InRange(loss, Math.Log(512) - 1, Math.Log(512) + 1); // nano's V = 512, random tokens
        Assert.True(Number(r, @"^tokens/s: (\S+)") > 0, r.ToString());
        Assert.True(Number(r, @"^mfu: (\S+)%") > 0, r.ToString());
        Assert.Contains("over a peak of 989 TFLOP/s", r.Output);
        Assert.Contains("nanoGPT's estimate_mfu", r.Output);
        // Parameters, Adam's two moments and a gradient per parameter are on the device at the peak: > 4 × 4 B each.
        long peak = (long)Number(r, @"^peak memory: .*\((\d+) B\)");
        Assert.True(peak > 4L * 4 * LlamaPresets.Nano.ParameterCount(), r.ToString());
    }

    [Fact]
    public void Bf16OnTheCpuIsAnErrorNamingPrecision()
    {
        var r = CliRunner.Run("bench", "train", "--preset", "nano", "--device", "cpu", "--precision", "bf16", "--steps", "1", "--warmup", "0");

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("--precision", r.Error);
        Assert.DoesNotContain("tokens/s:", r.Output);
    }

    [Fact]
    public void AnUnknownDeviceIsAnErrorNamingDevice()
    {
        var r = CliRunner.Run("bench", "train", "--preset", "nano", "--device", "tpu");

        Assert.True(r.ExitCode != 0, r.ToString());
        Assert.Contains("--device 'tpu'", r.Error);
        Assert.DoesNotContain("tokens/s:", r.Output); // the result line (a parse error prints the help, which mentions tokens/s)
    }

    [Fact]
    public void FlopsPerTokenIsNanoGptsEstimate()
    {
        // TinyLlama-1.1B at T = 2048: N = 1,100,048,384 parameters less the 32000 × 2048 embedding table;
        // attention 12·L·H·Hs·T with H·Hs = C = 2048.
        long n = 1_100_048_384L - 32000L * 2048;
        Assert.Equal(n, BenchCommand.MatmulParameters(LlamaPresets.TinyLlama1B));
        Assert.Equal(6.0 * n + 12.0 * 22 * 2048 * 2048, BenchCommand.FlopsPerToken(LlamaPresets.TinyLlama1B, 2048));
        // A tied model's embedding table is also its output projection: its weights are counted.
        var tied = LlamaPresets.Nano with { TieWordEmbeddings = true };
        Assert.Equal(tied.ParameterCount(), BenchCommand.MatmulParameters(tied));
    }

    static double Number(CliRunner.Result r, string pattern)
    {
        var match = Regex.Match(r.Output, pattern, RegexOptions.Multiline);
        Assert.True(match.Success, $"no line matching {pattern}:\n{r}");
        return double.Parse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}

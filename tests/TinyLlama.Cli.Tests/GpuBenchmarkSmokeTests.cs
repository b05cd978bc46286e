using TinyLlama.Benchmarks.Gpu;

namespace TinyLlama.Cli.Tests;

/// <summary>
/// The GPU benchmark classes construct, validate against the CPU reference and run each method once at tiny sizes on
/// the simulated device (the benchmarks' --smoke mode), so the suite the GPU host runs is known to work up to timing.
/// </summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuBenchmarkSmokeTests
{
    [Fact]
    public void EveryGpuBenchmarkClassValidatesOnTheSimulator()
    {
        var output = new StringWriter();
        int exitCode = GpuSmoke.Run("cuda-sim", output);

        Assert.True(exitCode == 0, output.ToString());
        string[] expected =
        [
            "RmsNormGpuBenchmarks", "RopeGpuBenchmarks", "SwiGluGpuBenchmarks", "AdamWGpuBenchmarks", "CrossEntropyGpuBenchmarks",
            "SoftmaxGpuBenchmarks", "EmbeddingGpuBenchmarks", "ReduceGpuBenchmarks", "GemmGpuBenchmarks", "FlashAttentionGpuBenchmarks",
        ];
        Assert.Equal(expected.Order(), GpuSmoke.BenchmarkTypes.Select(t => t.Name).Order());
        foreach (string name in expected)
            Assert.Contains($"ok      {name}", output.ToString());
        Assert.Contains("RmsNormGpuBenchmarks Bf16=True: validated", output.ToString());
        Assert.DoesNotContain("FAILED", output.ToString());
    }

    [Fact]
    public void TheWorkModelGivesTheIssuesFigures()
    {
        // FlashAttention at TinyLlama's shape: forward 4·B·H·T²·Hs/2, backward 2.5× (sdpa_bench.py's convention).
        var flash = new FlashAttentionGpuBenchmarks { Batch = 8, Heads = 32, KvHeads = 4, SeqLen = 2048, HeadSize = 64 };
        double forward = 4.0 * 8 * 32 * 2048.0 * 2048 * 64 / 2;
        Assert.Equal(forward, flash.Work(nameof(FlashAttentionGpuBenchmarks.Forward)).Flops);
        Assert.Equal(2.5 * forward, flash.Work(nameof(FlashAttentionGpuBenchmarks.Backward)).Flops);

        var gemm = new GemmGpuBenchmarks { Shape = new GemmShape("q/o proj", 16384, 2048, 2048) };
        Assert.Equal(2.0 * 16384 * 2048 * 2048, gemm.Work(nameof(GemmGpuBenchmarks.CuBlasGemm)).Flops);

        // The copy moves the main buffer once each way; RMSNorm forward reads x and writes y: the same bytes.
        var rms = new RmsNormGpuBenchmarks { Rows = 16384, Cols = 2048, Bf16 = true };
        Assert.Equal(2.0 * 16384 * 2048 * 2, rms.Work(nameof(RmsNormGpuBenchmarks.DeviceCopy)).Bytes);
        Assert.Equal(rms.Work(nameof(RmsNormGpuBenchmarks.DeviceCopy)).Bytes, rms.Work(nameof(RmsNormGpuBenchmarks.Forward)).Bytes);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using TinyLlama.Model.Checkpoints;

namespace TinyLlama.Cli.Tests;

/// <summary>
/// Data-parallel <c>train</c> across real processes over the TCP ring, the built CLI started as separate OS
/// processes: N processes give the losses and parameters of one process with the same global batch; a rank that dies
/// or stops answering turns into an error on the others within the timeout; a relaunch with --resume continues from
/// the last checkpoint in the same data order.
/// </summary>
[Collection(nameof(DistributedTrainTests))] // these start several processes each: never alongside one another
public sealed class DistributedTrainTests : IDisposable
{
    // The nano preset, validation every 4 steps, a checkpoint every 4 steps, no samples at the end.
    static string[] Train(int seqLen, int batchSize, int maxSteps) =>
        ["train", "--preset", "nano", "--seq-len", seqLen.ToString(), "--batch-size", batchSize.ToString(),
         "--max-steps", maxSteps.ToString(), "--eval-every", "4", "--eval-batches", "2", "--samples", "0", "--checkpoint-every", "4"];

    readonly string root = Directory.CreateTempSubdirectory("tinyllama-ddp-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void TwoAndFourProcessesMatchOneProcessStepForStep()
    {
        string one = Path.Combine(root, "one"), two = Path.Combine(root, "two"), four = Path.Combine(root, "four");
        // 8 sequences of 32 tokens a step: quick, yet every step goes through the ring.
        string[] args = Train(seqLen: 32, batchSize: 8, maxSteps: 8);
        Run(TimeSpan.FromMinutes(3), [.. args, "--out", one]).AssertSucceeded();
        Run(TimeSpan.FromMinutes(3), ["launch", "--nproc", "2", "--", .. args, "--out", two]).AssertSucceeded();
        Run(TimeSpan.FromMinutes(3), ["launch", "--nproc", "4", "--", .. args, "--out", four]).AssertSucceeded();

        var reference = Losses(one);
        Assert.Equal(Enumerable.Range(1, 8), reference.Keys);
        foreach (string run in new[] { two, four })
        {
            var losses = Losses(run);
            Assert.Equal(reference.Keys, losses.Keys);
            foreach (var (step, loss) in reference)
                Assert.True(Math.Abs(losses[step] - loss) <= 1e-5, $"{Path.GetFileName(run)}: step {step} loss {losses[step]}, one process {loss}");
            AssertSameParameters(one, run, 1e-4);
        }
    }

    /// <summary>
    /// Data-parallel on GPUs: each rank's gradients are downloaded into the buckets, averaged over the ring and
    /// uploaded again. Two processes on the simulated device (each has its own) in f32 give the losses of one CPU
    /// process with the same global batch, within the simulated device's f32 tolerance.
    /// </summary>
    [Fact]
    public void TwoProcessesOnTheSimulatedGpuMatchOneCpuProcess()
    {
        string cpu = Path.Combine(root, "cpu"), gpus = Path.Combine(root, "gpus");
        string[] args = [.. Train(seqLen: 16, batchSize: 2, maxSteps: 3), "--lr", "3e-3", "--warmup-steps", "1"];
        Run(TimeSpan.FromMinutes(3), [.. args, "--out", cpu]).AssertSucceeded();
        var launched = Run(TimeSpan.FromMinutes(8), ["launch", "--nproc", "2", "--", .. args, "--device", "cuda-sim", "--precision", "f32", "--out", gpus]);
        launched.AssertSucceeded();
        Assert.Contains("data-parallel: 2 processes", launched.Output + launched.Error);
        Assert.Contains("cuda:0 (simulated", launched.Output + launched.Error);

        var reference = Losses(cpu);
        var losses = Losses(gpus);
        Assert.Equal(Enumerable.Range(1, 3), reference.Keys);
        Assert.Equal(reference.Keys, losses.Keys);
        foreach (var (step, loss) in reference)
            Assert.True(Math.Abs(losses[step] - loss) <= 2e-3 * loss, $"step {step}: 2 simulated GPUs {losses[step]}, one CPU process {loss}");
        AssertSameParameters(cpu, gpus, 1e-3);
    }

    [Fact]
    public void ARankThatDiesFailsTheOthersAndResumeContinuesInTheSameOrder()
    {
        string uninterrupted = Path.Combine(root, "uninterrupted"), interrupted = Path.Combine(root, "interrupted");
        // 16 sequences of 64 tokens a step: slow enough (a few hundred ms a step on 2 cores) that the kill at step 6
        // lands well before the last step, 24.
        string[] args = Train(seqLen: 64, batchSize: 16, maxSteps: 24);

        // Rank 1 is killed outright (SIGKILL: its sockets close) once step 6 is logged.
        var ranks = StartRanks(2, [.. args, "--out", interrupted], timeoutSeconds: 20);
        WaitForStep(interrupted, 6, ranks);
        var killedAt = Stopwatch.StartNew();
        ranks[1].Kill();
        Assert.True(ranks[0].WaitForExit(TimeSpan.FromSeconds(20)), "rank 0 kept running after its peer died");
        Assert.NotEqual(0, ranks[0].ExitCode);
        Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(20), $"rank 0 took {killedAt.Elapsed} to notice");
        string error = ranks[0].Error;
        Assert.Matches(@"rank 1|127\.0\.0\.1", error);
        foreach (var rank in ranks) rank.Dispose();

        int lastCheckpoint = Directory.GetDirectories(Path.Combine(interrupted, "checkpoints"), "step-*")
            .Select(d => int.Parse(Path.GetFileName(d)["step-".Length..])).Max();
        Assert.True(lastCheckpoint is >= 4 and < 24, $"expected a checkpoint between step 4 and the end, found {lastCheckpoint}");

        // The relaunch resumes from that checkpoint; a run that was never interrupted is the reference.
        Run(TimeSpan.FromMinutes(3), ["launch", "--nproc", "2", "--", .. args, "--out", interrupted, "--resume"]).AssertSucceeded();
        Run(TimeSpan.FromMinutes(3), ["launch", "--nproc", "2", "--", .. args, "--out", uninterrupted]).AssertSucceeded();

        var expected = Losses(uninterrupted);
        var resumed = Losses(interrupted);
        Assert.Equal(Enumerable.Range(1, 24), expected.Keys);
        Assert.Equal(expected.Keys, resumed.Keys);
        foreach (var (step, loss) in expected)
            Assert.True(Math.Abs(resumed[step] - loss) <= 1e-5, $"step {step}: resumed {resumed[step]}, uninterrupted {loss}");
    }

    [Fact]
    public void ARankThatStopsAnsweringIsAnErrorWithinTheTimeout()
    {
        // The tokenizer and data come ready from a one-step run: preparing them takes rank 0 longer than this
        // test's 5 s timeout, during which the other ranks wait at a barrier (the default timeout is 5 minutes).
        string prepared = Path.Combine(root, "prepared"), outDir = Path.Combine(root, "stalled");
        Run(TimeSpan.FromMinutes(3), [.. Train(seqLen: 32, batchSize: 8, maxSteps: 1), "--out", prepared]).AssertSucceeded();
        var ranks = StartRanks(2, [.. Train(seqLen: 32, batchSize: 8, maxSteps: 400), "--out", outDir,
            "--tokenizer", Path.Combine(prepared, "tokenizer.json"), "--data", Path.Combine(prepared, "data")], timeoutSeconds: 5);
        WaitForStep(outDir, 3, ranks);
        var stoppedAt = Stopwatch.StartNew();
        ranks[1].Signal("STOP"); // alive, sockets open, silent: only the timeout can tell
        try
        {
            Assert.True(ranks[0].WaitForExit(TimeSpan.FromSeconds(30)), "rank 0 hung on a silent peer");
            Assert.NotEqual(0, ranks[0].ExitCode);
            Assert.True(stoppedAt.Elapsed < TimeSpan.FromSeconds(5 + 15), $"rank 0 took {stoppedAt.Elapsed}");
            Assert.Matches(@"rank 1|127\.0\.0\.1", ranks[0].Error);
        }
        finally
        {
            ranks[1].Signal("CONT");
            foreach (var rank in ranks) rank.Dispose();
        }
    }

    // ---- helpers ----

    static SortedDictionary<int, double> Losses(string run)
    {
        var losses = new SortedDictionary<int, double>();
        foreach (string line in File.ReadLines(Path.Combine(run, "metrics.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.TryGetProperty("loss", out var loss) && doc.RootElement.TryGetProperty("step", out var step))
                losses[step.GetInt32()] = loss.GetDouble();
        }
        return losses;
    }

    static void AssertSameParameters(string expectedRun, string actualRun, double tolerance)
    {
        using var expected = SafetensorsFile.Open(Path.Combine(expectedRun, "hf", "model.safetensors"));
        using var actual = SafetensorsFile.Open(Path.Combine(actualRun, "hf", "model.safetensors"));
        Assert.Equal(expected.Names.OrderBy(n => n), actual.Names.OrderBy(n => n));
        foreach (string name in expected.Names)
        {
            double[] e = expected.Read(name).ToDoubleArray(), a = actual.Read(name).ToDoubleArray();
            double worst = e.Zip(a, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(worst <= tolerance, $"{Path.GetFileName(actualRun)}: {name} differs by {worst}");
        }
    }

    static ProcessStartInfo StartInfo(IEnumerable<string> args) => CliRunner.ChildStartInfo(args);

    static CliRunner.Result Run(TimeSpan limit, string[] args)
    {
        using var rank = new RankProcess(StartInfo(args));
        if (!rank.WaitForExit(limit))
            throw new TimeoutException($"`{string.Join(' ', args)}` did not finish in {limit}");
        return new CliRunner.Result(rank.ExitCode, rank.Output, rank.Error);
    }

    /// <summary>Ranks started by hand, as a scheduler would, so that no launcher stops the survivors for us.</summary>
    static RankProcess[] StartRanks(int worldSize, string[] args, int timeoutSeconds)
    {
        int port = FreePort();
        string token = Guid.NewGuid().ToString("N");
        var ranks = new RankProcess[worldSize];
        for (int r = 0; r < worldSize; r++)
        {
            var start = StartInfo(args);
            start.Environment["RANK"] = r.ToString();
            start.Environment["LOCAL_RANK"] = r.ToString();
            start.Environment["WORLD_SIZE"] = worldSize.ToString();
            start.Environment["MASTER_ADDR"] = "127.0.0.1";
            start.Environment["MASTER_PORT"] = port.ToString();
            start.Environment["TINYLLAMA_JOB_TOKEN"] = token;
            start.Environment["TINYLLAMA_DIST_TIMEOUT"] = timeoutSeconds.ToString();
            ranks[r] = new RankProcess(start);
        }
        return ranks;
    }

    static void WaitForStep(string run, int step, RankProcess[] ranks)
    {
        string metrics = Path.Combine(run, "metrics.jsonl");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (ranks.FirstOrDefault(r => r.HasExited) is { } gone)
                throw new InvalidOperationException($"a rank exited early with {gone.ExitCode}:\n{gone.Output}\n{gone.Error}");
            try
            {
                if (File.Exists(metrics) && Losses(run).Keys.DefaultIfEmpty(0).Max() >= step) return;
            }
            catch (Exception e) when (e is IOException or JsonException) { } // a line being written
            Thread.Sleep(50);
        }
        throw new TimeoutException($"step {step} was not logged in {run}");
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A CLI process whose output is collected as it runs.</summary>
    sealed class RankProcess : IDisposable
    {
        readonly Process process;
        readonly System.Text.StringBuilder output = new(), error = new();

        public RankProcess(ProcessStartInfo start)
        {
            process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public bool HasExited => process.HasExited;
        public int ExitCode => process.ExitCode;
        public string Output { get { lock (output) return output.ToString(); } }
        public string Error { get { lock (error) return error.ToString(); } }

        public bool WaitForExit(TimeSpan limit)
        {
            if (!process.WaitForExit(limit)) return false;
            process.WaitForExit(); // drains the asynchronous output readers
            return true;
        }

        public void Kill() => process.Kill(entireProcessTree: true);

        public void Signal(string name) => Process.Start("kill", ["-" + name, process.Id.ToString()])!.WaitForExit();

        public void Dispose()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
            process.Dispose();
        }
    }
}

file static class ResultAssertions
{
    public static void AssertSucceeded(this CliRunner.Result result) => Assert.True(result.ExitCode == 0, result.ToString());
}

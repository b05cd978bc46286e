using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TinyLlama.Distributed;
using TinyLlama.Kernels;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>bench allreduce</c>: all-reduce speed over the TCP ring, printed as nccl-tests does — time, algorithm bandwidth
/// (bytes / time) and bus bandwidth (algbw × 2(N−1)/N, comparable across world sizes). Each rank fills rank-dependent
/// integers, and the reduced values are checked exactly before a size is timed. Run alone it starts --nproc ranks
/// of itself through the launcher; run under <c>launch</c> (or torchrun, SLURM, mpirun) it is one of the ranks.
/// tools/reference/gloo_allreduce.py prints the same table for PyTorch's gloo.
/// </summary>
internal static class BenchAllReduceCommand
{
    static readonly double[] DefaultSizesMiB = [4.0 / 1024, 16.0 / 1024, 64.0 / 1024, 256.0 / 1024, 1, 4, 16, 64, 256];

    public static Command Create()
    {
        var processes = new Option<int>("--nproc") { Description = "Ranks to start when not already running under a launcher.", DefaultValueFactory = _ => 2 };
        var sizes = new Option<double[]>("--size") { Description = "Message sizes in MiB (default 4 KiB … 256 MiB).", AllowMultipleArgumentsPerToken = true };
        var dtype = new Option<string>("--dtype") { Description = "f32, bf16 or both.", DefaultValueFactory = _ => "f32" };
        var seconds = new Option<double>("--seconds") { Description = "Timed seconds per size (at least 3 iterations).", DefaultValueFactory = _ => 1.0 };
        var segment = new Option<int>("--segment-kib") { Description = "Ring segment size in KiB.", DefaultValueFactory = _ => TcpProcessGroup.DefaultSegmentBytes >> 10 };
        var small = new Option<int>("--small-kib") { Description = "All-reduces up to this size take the gather-and-add path.", DefaultValueFactory = _ => TcpProcessGroup.DefaultSmallAllReduceBytes >> 10 };
        var command = new Command("allreduce", "All-reduce bandwidth over the TCP ring (algbw, busbw), validated before timing.")
        {
            processes, sizes, dtype, seconds, segment, small,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            return CommandErrors.Run(error, () =>
            {
                var sizesMiB = parse.GetValue(sizes) is { Length: > 0 } given ? given : DefaultSizesMiB;
                string type = parse.GetValue(dtype)!;
                string[] types = type switch { "f32" => ["f32"], "bf16" => ["bf16"], "both" => ["f32", "bf16"], _ => throw new ArgumentException($"--dtype {type}: expected f32, bf16 or both") };
                if (sizesMiB.Any(s => !(s > 0) || s > 1024)) throw new ArgumentException($"--size {string.Join(' ', sizesMiB)}: expected sizes in (0, 1024] MiB");
                double timed = parse.GetValue(seconds);
                if (!(timed > 0)) throw new ArgumentException($"--seconds {timed}: expected a positive number");
                int segmentBytes = parse.GetValue(segment) << 10, smallBytes = parse.GetValue(small) << 10;

                var settings = DistributedEnvironment.FromProcess();
                int nproc = parse.GetValue(processes);
                if (settings.WorldSize == 1 && nproc > 1)
                {
                    // Not under a launcher: become one, running this same benchmark in every rank.
                    var args = new List<string> { "bench", "allreduce", "--dtype", type, "--seconds", Format(timed),
                        "--segment-kib", Format(segmentBytes >> 10), "--small-kib", Format(smallBytes >> 10), "--size" };
                    args.AddRange(sizesMiB.Select(Format));
                    return LocalLauncher.Run(new LaunchOptions { ProcessCount = nproc, Program = ProgramToStart.Current(), Arguments = args }, output, error);
                }
                using var group = TcpProcessGroup.Create(settings, segmentBytes, smallBytes);
                return RunRank(group, sizesMiB, types, timed, output);
            });
        });
        return command;
    }

    static int RunRank(TcpProcessGroup group, double[] sizesMiB, string[] types, double seconds, TextWriter output)
    {
        int n = group.WorldSize;
        if (n > 8) throw new ArgumentException($"bench allreduce: world size {n}; its exact check of the sums holds for up to 8 ranks");
        bool print = group.Rank == 0;
        if (print)
        {
            output.WriteLine($"bench allreduce: {n} ranks over TCP (127.0.0.1 ring), segment {group.SegmentBytes >> 10} KiB, small path ≤ {group.SmallAllReduceBytes >> 10} KiB, {Environment.ProcessorCount} cores");
            output.WriteLine("busbw = algbw × 2(N−1)/N; GB/s = 1e9 B/s; time is the slowest rank's mean; cpu is the CPU time of all ranks' processes per all-reduce");
            output.WriteLine($"{"size (B)",12} {"count",11} {"type",5} {"iters",6} {"time (us)",11} {"algbw GB/s",11} {"busbw GB/s",11} {"cpu (us)",11} {"#wrong",7}");
        }
        foreach (var type in types)
        {
            foreach (double mib in sizesMiB)
            {
                int elementBytes = type == "f32" ? 4 : 2;
                long bytes = Math.Max(elementBytes, (long)Math.Round(mib * 1024 * 1024 / elementBytes) * elementBytes);
                int count = checked((int)(bytes / elementBytes));
                var (iterations, meanSeconds, cpuSeconds, wrong) = type == "f32"
                    ? Measure(group, new float[count], seconds, Fill, Check)
                    : Measure(group, new ushort[count], seconds, FillBf16, CheckBf16);
                double algbw = bytes / meanSeconds / 1e9;
                if (print)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{bytes,12} {count,11} {type,5} {iterations,6} {meanSeconds * 1e6,11:F1} {algbw,11:F3} {algbw * 2 * (n - 1) / n,11:F3} {cpuSeconds * 1e6,11:F1} {wrong,7}"));
                if (wrong > 0) throw new InvalidDataException($"bench allreduce: {wrong} wrong values at {bytes} bytes ({type}) on rank {group.Rank}");
            }
        }
        return 0;
    }

    delegate long Checker<T>(ReadOnlySpan<T> data, int worldSize);

    /// <summary>
    /// The slowest rank's mean time per all-reduce and the CPU time all ranks' processes spent per all-reduce (user and
    /// kernel, every thread: on a loopback ring the kernel's copies are most of it, and with more ranks than cores the
    /// CPU time, not the wire, is what bounds the bandwidth).
    /// </summary>
    static (int Iterations, double MeanSeconds, double CpuSeconds, long Wrong) Measure<T>(TcpProcessGroup group, T[] data, double seconds,
        Action<T[], int> fill, Checker<T> check) where T : unmanaged
    {
        fill(data, group.Rank);
        Reduce(group, data);
        long wrong = check(data, group.WorldSize);
        Reduce(group, data); // warm-up: the first calls pay for JIT compilation and page faults
        var clock = Stopwatch.StartNew();
        Reduce(group, data);
        double first = clock.Elapsed.TotalSeconds;
        // Every rank must run the same number of iterations: rank 0's choice is broadcast.
        var iterations = new byte[4];
        if (group.Rank == 0) BitConverter.TryWriteBytes(iterations, (int)Math.Clamp(Math.Ceiling(seconds / Math.Max(first, 1e-6)), 3, 100_000));
        group.Broadcast(iterations);
        int count = BitConverter.ToInt32(iterations);
        group.Barrier();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        clock.Restart();
        for (int i = 0; i < count; i++) Reduce(group, data);
        double mean = clock.Elapsed.TotalSeconds / count;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds / count;
        var gathered = new byte[16 * group.WorldSize];
        group.AllGather([.. BitConverter.GetBytes(mean), .. BitConverter.GetBytes(cpu)], gathered);
        double slowest = Enumerable.Range(0, group.WorldSize).Max(r => BitConverter.ToDouble(gathered, 16 * r));
        double cpuAll = Enumerable.Range(0, group.WorldSize).Sum(r => BitConverter.ToDouble(gathered, 16 * r + 8));
        return (count, slowest, cpuAll, wrong);
    }

    static void Reduce<T>(TcpProcessGroup group, T[] data) where T : unmanaged
    {
        if (data is float[] f) group.AllReduce(f);
        else group.AllReduceBf16((ushort[])(object)data);
    }

    // Integers in −32..31: sums over up to 8 ranks are exact in f32 and in bf16, so the check is exact equality.
    static int Value(long i, int rank) => (int)((i * 7 + rank * 13) % 64) - 32;

    static void Fill(float[] data, int rank)
    {
        for (int i = 0; i < data.Length; i++) data[i] = Value(i, rank);
    }

    static void FillBf16(ushort[] data, int rank)
    {
        for (int i = 0; i < data.Length; i++) data[i] = BFloat16.FromFloat(Value(i, rank));
    }

    static long Check(ReadOnlySpan<float> data, int worldSize)
    {
        long wrong = 0;
        for (int i = 0; i < data.Length; i++)
        {
            int expected = 0;
            for (int r = 0; r < worldSize; r++) expected += Value(i, r);
            if (data[i] != expected) wrong++;
        }
        return wrong;
    }

    static long CheckBf16(ReadOnlySpan<ushort> data, int worldSize)
    {
        long wrong = 0;
        for (int i = 0; i < data.Length; i++)
        {
            int expected = 0;
            for (int r = 0; r < worldSize; r++) expected += Value(i, r);
            if (data[i] != BFloat16.FromFloat(expected)) wrong++;
        }
        return wrong;
    }

    static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

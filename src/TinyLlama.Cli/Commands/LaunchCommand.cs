using System.CommandLine;
using TinyLlama.Distributed;

namespace TinyLlama.Cli.Commands;

/// <summary>
/// <c>launch --nproc N [--master-port P] -- &lt;command&gt; [args…]</c>: runs N ranks of this program on this machine,
/// like <c>torchrun --standalone</c>. Everything after <c>--</c> is the command each rank runs.
/// </summary>
internal static class LaunchCommand
{
    public static Command Create()
    {
        var processes = new Option<int>("--nproc") { Description = "Ranks to start on this machine.", DefaultValueFactory = _ => 2 };
        var port = new Option<int>("--master-port") { Description = "Port of rank 0's rendezvous store (default: a free one)." };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds a rank waits on a peer before failing (TINYLLAMA_DIST_TIMEOUT; default 300)." };
        var command = new Argument<string[]>("command") { Description = "The command each rank runs, after '--': e.g. -- bench allreduce --size 64", Arity = ArgumentArity.OneOrMore };
        var launch = new Command("launch", "Start N ranks of this program on this machine (like torchrun --standalone); one failing rank stops all.")
        {
            processes, port, timeout, command,
        };
        launch.SetAction(parse => CommandErrors.Run(parse.InvocationConfiguration.Error, () =>
        {
            double? seconds = parse.GetValue(timeout);
            if (seconds is <= 0) throw new ArgumentException($"--timeout {seconds}: expected a positive number of seconds");
            return LocalLauncher.Run(new LaunchOptions
            {
                ProcessCount = parse.GetValue(processes),
                MasterPort = parse.GetValue(port),
                Program = ProgramToStart.Current(),
                Arguments = parse.GetValue(command)!,
                Timeout = seconds is null ? null : TimeSpan.FromSeconds(seconds.Value),
            }, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        }));
        return launch;
    }
}

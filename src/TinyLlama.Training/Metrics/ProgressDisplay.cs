using System.Globalization;

namespace TinyLlama.Training.Metrics;

/// <summary>
/// Shows training progress: <c>step 120/1000 | loss 4.812 | 1,450 tok/s | lr 3.0e-4 | elapsed 1:23 | ETA 10:05</c>.
/// On a terminal it is one line rewritten in place after every step; when output goes to a file or a pipe
/// it is a plain line every few steps, so a log holds a readable history instead of carriage returns.
/// </summary>
/// <remarks>
/// The live line is redrawn with a carriage return and padded with spaces over the previous one, which works
/// on every terminal without escape sequences; it is cut to the terminal width, since a wrapped line can
/// no longer be rewritten. Elapsed time and ETA come from <see cref="StepMetrics.ElapsedSeconds"/>, not a
/// clock of its own, so a resumed run shows the time of the whole run.
/// </remarks>
public sealed class ProgressDisplay : IDisposable
{
    /// <summary>How many recent steps the ETA averages over: enough to smooth out a slow step, few enough to
    /// follow a change of speed (after warm-up, or when validation steals time).</summary>
    public const int EtaWindow = 20;

    /// <summary>The live line is redrawn at most this often (in run time): a small model on a GPU takes
    /// milliseconds a step, and a terminal write per step would cost more than the display is worth.</summary>
    public const double MinRedrawSeconds = 0.1;

    private readonly TextWriter _output;
    private readonly bool _live;
    private readonly int? _totalSteps;
    private readonly TimeSpan? _timeBudget;
    private readonly int _plainEvery;
    private readonly int _width;
    private readonly Queue<(int Step, double Elapsed)> _recent = new();
    private readonly Lock _gate = new();
    private string? _liveLine;
    private double _drawnAt = double.NaN;
    private int _shownLength;
    private bool _anyPrinted;

    /// <param name="output">Where the progress goes.</param>
    /// <param name="live">True rewrites one line in place (a terminal); false prints plain lines.</param>
    /// <param name="totalSteps">The last step of the run, when it is known.</param>
    /// <param name="timeBudget">Wall time the run may take, when it is bounded by time; the ETA is then the
    /// earlier of the two ends.</param>
    /// <param name="plainEvery">In plain mode, print every this many steps (and the first and last step).</param>
    /// <param name="width">Terminal width in characters; the live line is kept shorter than it. 0: no limit.</param>
    public ProgressDisplay(TextWriter output, bool live, int? totalSteps = null, TimeSpan? timeBudget = null, int plainEvery = 10, int width = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(plainEvery, 1);
        _output = output;
        _live = live;
        _totalSteps = totalSteps;
        _timeBudget = timeBudget;
        _plainEvery = plainEvery;
        _width = width;
    }

    /// <summary>Progress on standard output: live on a terminal, plain lines when redirected or TERM=dumb.</summary>
    public static ProgressDisplay ForConsole(int? totalSteps, TimeSpan? timeBudget = null, int plainEvery = 10)
    {
        bool live = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";
        return new ProgressDisplay(Console.Out, live, totalSteps, timeBudget, plainEvery, live ? TerminalWidth() : 0);
    }

    public void Update(StepMetrics step)
    {
        lock (_gate)
        {
            _recent.Enqueue((step.Step, step.ElapsedSeconds));
            while (_recent.Count > EtaWindow + 1)
                _recent.Dequeue();
            bool last = step.Step == _totalSteps;
            if (_live)
            {
                _liveLine = Fit(Format(step));
                // NaN at first, so the first step is always drawn; Abs, so an elapsed time that starts over does not freeze it.
                if (last || !(Math.Abs(step.ElapsedSeconds - _drawnAt) < MinRedrawSeconds))
                {
                    Draw(_liveLine, newline: false);
                    _drawnAt = step.ElapsedSeconds;
                }
            }
            else if (!_anyPrinted || step.Step % _plainEvery == 0 || last)
            {
                _output.WriteLine(Format(step));
                _output.Flush();
            }
            _anyPrinted = true;
        }
    }

    /// <summary>A validation result, always printed as a line of its own.</summary>
    public void Report(ValidationMetrics validation) =>
        WriteLine(FormattableString.Invariant($"step {validation.Step} | val_loss {Number(validation.Loss, "0.000")} | val_ppl {Number(validation.Perplexity, "0.00")}"));

    /// <summary>A message (a checkpoint saved, a warning) printed above the live line, which is then redrawn.</summary>
    public void WriteLine(string message)
    {
        lock (_gate)
        {
            if (!_live)
            {
                _output.WriteLine(message);
            }
            else
            {
                Draw(message, newline: true);
                if (_liveLine is not null)
                    Draw(_liveLine, newline: false);
            }
            _output.Flush();
        }
    }

    /// <summary>Leaves the live line as the last line of output; later output starts on a fresh line.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            if (_live && _shownLength > 0)
            {
                _output.WriteLine();
                _output.Flush();
            }
            _liveLine = null;
            _shownLength = 0;
        }
    }

    public void Dispose() => Complete();

    internal string Format(StepMetrics step)
    {
        var c = CultureInfo.InvariantCulture;
        string position = _totalSteps is int total ? string.Create(c, $"step {step.Step}/{total}") : string.Create(c, $"step {step.Step}");
        string eta = Eta(step) is TimeSpan left ? Duration(left) : "--:--";
        return string.Join(" | ",
            position,
            $"loss {Number(step.Loss, "0.000")}",
            $"{Number(step.TokensPerSecond, "N0")} tok/s",
            $"lr {step.LearningRate.ToString("0.0e-0", c)}",
            $"elapsed {Duration(TimeSpan.FromSeconds(step.ElapsedSeconds))}",
            $"ETA {eta}");
    }

    /// <summary>Time left: the average step time over the last steps times the steps left, or what is left
    /// of the time budget, whichever ends first; null while there is nothing to estimate from.</summary>
    private TimeSpan? Eta(StepMetrics step)
    {
        TimeSpan? bySteps = null, byBudget = null;
        var (firstStep, firstElapsed) = _recent.Peek();
        if (_totalSteps is int total && step.Step > firstStep)
        {
            double secondsPerStep = (step.ElapsedSeconds - firstElapsed) / (step.Step - firstStep);
            bySteps = TimeSpan.FromSeconds(Math.Max(0, secondsPerStep * (total - step.Step)));
        }
        if (_timeBudget is TimeSpan budget)
            byBudget = TimeSpan.FromSeconds(Math.Max(0, budget.TotalSeconds - step.ElapsedSeconds));
        return (bySteps, byBudget) switch
        {
            (TimeSpan a, TimeSpan b) => a < b ? a : b,
            (TimeSpan a, null) => a,
            (null, TimeSpan b) => b,
            _ => null,
        };
    }

    private void Draw(string text, bool newline)
    {
        // Spaces over whatever the previous, longer line left on screen; no escape sequences needed.
        int pad = Math.Max(0, _shownLength - text.Length);
        _output.Write('\r');
        _output.Write(text);
        _output.Write(new string(' ', pad));
        if (newline)
        {
            _output.Write('\n');
            _shownLength = 0;
        }
        else
        {
            _shownLength = text.Length;
        }
        _output.Flush();
    }

    private string Fit(string line) => _width > 1 && line.Length >= _width ? line[..(_width - 1)] : line;

    /// <summary>m:ss under an hour, h:mm:ss above (hours keep counting past a day).</summary>
    internal static string Duration(TimeSpan span)
    {
        long seconds = (long)Math.Round(span.TotalSeconds, MidpointRounding.AwayFromZero);
        long h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
        return h > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{h}:{m:00}:{s:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{m}:{s:00}");
    }

    private static string Number(double value, string format) =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture);

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException or InvalidOperationException)
        {
            return 0;
        }
    }
}

namespace TinyLlama.Cli.SelfTest;

/// <summary>Runs a list of checks, one at a time, printing each row as it finishes, then the summary.</summary>
internal static class SelfTestRunner
{
    public const int DefaultSeed = 1234;

    /// <summary>True only if every check passed (an empty list passes nothing and is a failure).</summary>
    public static bool Run(IReadOnlyList<KernelCheck> checks, TextWriter output)
    {
        var table = new ResultTable(checks, output);
        table.WriteHeader();
        var outcomes = new List<CheckOutcome>(checks.Count);
        foreach (var check in checks)
        {
            var outcome = Evaluate(check);
            outcomes.Add(outcome);
            table.WriteRow(outcome);
        }
        table.WriteFailureDetails(outcomes);
        int passed = outcomes.Count(o => o.Passed);
        int failed = outcomes.Count - passed;
        output.WriteLine($"summary: {outcomes.Count} checks, {passed} passed, {failed} failed");
        return outcomes.Count > 0 && failed == 0;
    }

    /// <summary>Runs both sides of one check. An exception fails that check only, so one missing kernel does not hide the rest.</summary>
    public static CheckOutcome Evaluate(KernelCheck check)
    {
        try
        {
            var fast = check.RunFast();
            var reference = check.RunReference();
            return new CheckOutcome(check, ErrorMeasure.MaxRelative(fast, reference), Failure: null);
        }
        catch (Exception exception)
        {
            return new CheckOutcome(check, double.NaN, $"{exception.GetType().Name}: {exception.Message}");
        }
    }
}

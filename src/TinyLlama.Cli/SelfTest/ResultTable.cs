using System.Globalization;

namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// The self-test report: op, shape, max rel err, tolerance, result. Column widths come from the check list up
/// front, so rows can be printed as soon as each check finishes and still line up.
/// </summary>
internal sealed class ResultTable(IReadOnlyList<KernelCheck> checks, TextWriter output)
{
    private const string OpHeader = "op", ShapeHeader = "shape", ErrorHeader = "max rel err", ToleranceHeader = "tolerance";
    private const int NumberWidth = 11; // "max rel err" and every formatted number fit

    private readonly int _opWidth = Math.Max(OpHeader.Length, checks.Select(c => c.Op.Length).DefaultIfEmpty(0).Max());
    private readonly int _shapeWidth = Math.Max(ShapeHeader.Length, checks.Select(c => c.Shape.Length).DefaultIfEmpty(0).Max());

    public void WriteHeader() => WriteLine(OpHeader, ShapeHeader, ErrorHeader, ToleranceHeader, "result");

    public void WriteRow(CheckOutcome outcome)
    {
        string error = outcome.Failure is not null ? "error" : Format(outcome.MaxRelativeError);
        WriteLine(outcome.Check.Op, outcome.Check.Shape, error, Format(outcome.Check.Tolerance), outcome.Passed ? "PASS" : "FAIL");
    }

    /// <summary>The exception behind each "error" row, which does not fit in a column.</summary>
    public void WriteFailureDetails(IEnumerable<CheckOutcome> outcomes)
    {
        foreach (var outcome in outcomes.Where(o => o.Failure is not null))
            output.WriteLine($"  {outcome.Check.Op}: {outcome.Failure}");
    }

    public static string Format(double value) => value switch
    {
        double.NaN => "NaN",
        0 => "0",
        _ => value.ToString("0.00e+00", CultureInfo.InvariantCulture),
    };

    private void WriteLine(string op, string shape, string error, string tolerance, string result) =>
        output.WriteLine(
            $"{op.PadRight(_opWidth)}  {shape.PadRight(_shapeWidth)}  {error.PadLeft(NumberWidth)}  {tolerance.PadLeft(NumberWidth)}  {result}");
}

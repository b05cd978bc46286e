namespace TinyLlama.Cli.SelfTest;

/// <summary>
/// One comparison of a fast kernel with its reference: two runs over the same captured inputs, each returning its
/// output tensors in the same order. The delegates call kernels only when run, never when the check is built, so a
/// kernel that throws fails its own row and not the whole list. A GPU check is the same record with a GPU run.
/// </summary>
/// <param name="Op">What is checked, e.g. "rmsnorm backward".</param>
/// <param name="Shape">The problem size in the shape vocabulary (B, T, H, ...), for the report.</param>
/// <param name="Tolerance">Largest allowed <see cref="ErrorMeasure.MaxRelative(IReadOnlyList{float[]}, IReadOnlyList{float[]})"/>.</param>
internal sealed record KernelCheck(
    string Op,
    string Shape,
    double Tolerance,
    Func<IReadOnlyList<float[]>> RunFast,
    Func<IReadOnlyList<float[]>> RunReference);

/// <summary>The result of one <see cref="KernelCheck"/>.</summary>
/// <param name="MaxRelativeError">NaN when the outputs held NaN or the check threw.</param>
/// <param name="Failure">The exception's type and message when a run threw; null otherwise.</param>
internal sealed record CheckOutcome(KernelCheck Check, double MaxRelativeError, string? Failure)
{
    // Written as "error <= tolerance" so that NaN, which compares false with everything, fails.
    public bool Passed => Failure is null && MaxRelativeError <= Check.Tolerance;
}

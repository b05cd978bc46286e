namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// A checkpoint file or folder that cannot be used as it is: corrupt, truncated, or not what the model expects.
/// The message always starts with the file (or folder) path, then names the tensor when one is involved, then
/// says what is wrong in plain words, so a user can act on it without a debugger.
/// </summary>
public class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string filePath, string? tensorName, string problem, Exception? inner = null)
        : base(Compose(filePath, tensorName, problem), inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The file (or folder) the problem was found in.</summary>
    public string FilePath { get; }

    /// <summary>The tensor concerned, or null when the problem is about the file as a whole.</summary>
    public string? TensorName { get; }

    /// <summary>What is wrong, without the file and tensor prefix.</summary>
    public string Problem { get; }

    private static string Compose(string filePath, string? tensorName, string problem) =>
        tensorName is null ? $"{filePath}: {problem}" : $"{filePath}: tensor '{tensorName}': {problem}";
}

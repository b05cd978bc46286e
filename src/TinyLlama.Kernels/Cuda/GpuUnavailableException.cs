namespace TinyLlama.Kernels;

/// <summary>
/// No usable CUDA device: the driver library is missing, the driver found no device, or the index asked for is out
/// of range. The message names what was looked for (library names, device count, index, CUDA_VISIBLE_DEVICES), so
/// the user can tell a missing driver from a hidden GPU without reading code.
/// </summary>
public sealed class GpuUnavailableException : Exception
{
    public GpuUnavailableException(string message) : base(message) { }

    public GpuUnavailableException(string message, Exception inner) : base(message, inner) { }
}

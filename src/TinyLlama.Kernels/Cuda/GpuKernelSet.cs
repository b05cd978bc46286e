using System.Collections.Concurrent;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// The loaded kernels of one accelerator. Each op's GPU launcher (e.g. <see cref="CastGpu"/>) is a class whose
/// constructor takes the accelerator and loads its kernels once; this set builds each launcher on first use and
/// keeps it, so a training step never pays for loading.
/// </summary>
public sealed class GpuKernelSet(Accelerator accelerator)
{
    readonly ConcurrentDictionary<Type, object> launchers = new();

    public Accelerator Accelerator { get; } = accelerator;

    public T Get<T>() where T : class =>
        (T)launchers.GetOrAdd(typeof(T), static (type, acc) => Activator.CreateInstance(type, acc)!, Accelerator);
}

using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels;

/// <summary>
/// Compiles a kernel to PTX text without a GPU or a driver, for an architecture of our choosing: ILGPU's PTX
/// backend runs entirely in managed code. ILGPU 1.5.3 writes <c>.target sm_80</c> even for sm_90 (its target is
/// capped by the capabilities it knows), which the sm_90 assembler accepts; ISA 7.8 is the newest that CUDA 11.8's
/// ptxas reads and the oldest that knows sm_90.
/// </summary>
public sealed class PtxCompiler : IDisposable
{
    readonly Context context = Context.Create(builder => GpuContextSettings.Apply(builder));

    public string Compile(MethodInfo kernel, CudaArchitecture architecture)
    {
        using var backend = new PTXBackend(context, architecture, CudaInstructionSet.ISA_78, null!);
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, new KernelSpecialization());
        return compiled.PTXAssembly;
    }

    public void Dispose() => context.Dispose();
}

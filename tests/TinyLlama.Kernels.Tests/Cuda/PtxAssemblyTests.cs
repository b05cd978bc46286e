using ILGPU.Runtime.Cuda;
using Xunit.Abstractions;

namespace TinyLlama.Kernels.Tests.Cuda;

/// <summary>
/// Every kernel marked [GpuKernel], each instantiation, compiled to PTX by ILGPU for sm_80 and sm_90 and assembled
/// by ptxas: a kernel that does not assemble fails here, on a machine without a GPU. The register, spill and
/// shared-memory report is printed for every kernel. Code behind <c>CudaAsm.IsSupported</c> is part of the PTX, so
/// the tensor-core paths are assembled too.
/// </summary>
public class PtxAssemblyTests(ITestOutputHelper output)
{
    public static TheoryData<string> KernelNames()
    {
        var data = new TheoryData<string>();
        foreach (var kernel in GpuKernelCatalog.Kernels) data.Add(kernel.Name);
        return data;
    }

    [Fact]
    public void TheCatalogFindsKernels() => Assert.NotEmpty(GpuKernelCatalog.Kernels);

    [SkippableTheory]
    [MemberData(nameof(KernelNames))]
    public void KernelAssemblesForSm80AndSm90(string name)
    {
        if (Ptxas.Path is null)
        {
            Assert.False(Ptxas.Required, "ptxas is required under CI: tools/ci/install-ptxas.sh installs it");
            Skip.If(true, "ptxas not found (run tools/ci/install-ptxas.sh or set TINYLLAMA_PTXAS)");
        }
        var kernel = GpuKernelCatalog.Kernels.Single(k => k.Name == name);
        using var compiler = new PtxCompiler();
        foreach (var (arch, target) in new[] { (CudaArchitecture.SM_80, "sm_80"), (CudaArchitecture.SM_90, "sm_90") })
        {
            string ptx = compiler.Compile(kernel.Method, arch);
            Assert.Contains(".entry", ptx);
            var result = Ptxas.Assemble(ptx, target);
            output.WriteLine($"{name} {target}:\n{result.Report}\n");
            Assert.True(result.ExitCode == 0, $"ptxas -arch={target} failed for {name}:\n{result.Report}");
            Assert.DoesNotContain("error", result.Report, StringComparison.OrdinalIgnoreCase);
        }
    }
}

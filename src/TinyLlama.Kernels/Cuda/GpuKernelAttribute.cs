namespace TinyLlama.Kernels;

/// <summary>
/// Marks a static method as a GPU kernel entry point (explicitly grouped: launched with a KernelConfig, indices
/// from <c>Grid</c>/<c>Group</c>). A generic kernel carries one attribute per instantiation it is launched with.
/// The PTX tests find every kernel through this attribute, compile each instantiation for sm_80 and sm_90 and
/// assemble it with ptxas, so a kernel that is launched but not marked is a kernel that is not checked.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true, Inherited = false)]
public sealed class GpuKernelAttribute(params Type[] typeArguments) : Attribute
{
    public IReadOnlyList<Type> TypeArguments { get; } = typeArguments;
}

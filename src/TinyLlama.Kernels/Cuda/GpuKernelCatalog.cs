using System.Reflection;

namespace TinyLlama.Kernels;

/// <summary>One instantiation of a kernel entry point: the closed method ILGPU compiles.</summary>
public sealed record GpuKernelEntry(MethodInfo Method)
{
    public string Name
    {
        get
        {
            string args = Method.IsGenericMethod
                ? "<" + string.Join(",", Method.GetGenericArguments().Select(t => t.Name)) + ">"
                : "";
            return $"{Method.DeclaringType!.Name}.{Method.Name}{args}";
        }
    }

    public override string ToString() => Name;
}

/// <summary>Every method marked <see cref="GpuKernelAttribute"/> in an assembly, each generic one closed over its listed type arguments.</summary>
public static class GpuKernelCatalog
{
    public static IReadOnlyList<GpuKernelEntry> All(Assembly assembly)
    {
        var entries = new List<GpuKernelEntry>();
        const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in assembly.GetTypes())
        foreach (var method in type.GetMethods(Any))
        foreach (var mark in method.GetCustomAttributes<GpuKernelAttribute>())
        {
            if (method.IsGenericMethodDefinition != mark.TypeArguments.Count > 0)
                throw new InvalidOperationException(
                    $"{type.Name}.{method.Name}: a generic kernel lists its type arguments in [GpuKernel(...)], a plain one lists none.");
            entries.Add(new GpuKernelEntry(method.IsGenericMethodDefinition
                ? method.MakeGenericMethod([.. mark.TypeArguments])
                : method));
        }
        return entries.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The kernels of TinyLlama.Kernels.</summary>
    public static IReadOnlyList<GpuKernelEntry> Kernels => All(typeof(GpuKernelCatalog).Assembly);
}

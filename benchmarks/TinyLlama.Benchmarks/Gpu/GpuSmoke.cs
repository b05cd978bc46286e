using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace TinyLlama.Benchmarks.Gpu;

/// <summary>
/// <c>--smoke [DEVICE]</c>: every GPU benchmark class at tiny sizes (<see cref="GpuBenchmark.UseSmokeSizes"/>) on the
/// simulated device (default cuda-sim) or the one named: its GlobalSetup (which validates against the CPU
/// reference), each benchmark method once, its cleanup, and the work model the columns use. Nothing is timed.
/// Exit 0 when every class passed.
/// </summary>
public static class GpuSmoke
{
    public static IReadOnlyList<Type> BenchmarkTypes { get; } =
        typeof(GpuBenchmark).Assembly.GetTypes()
            .Where(t => typeof(GpuBenchmark).IsAssignableFrom(t) && !t.IsAbstract)
            .OrderBy(t => t.Name)
            .ToList();

    public static int Run(string device, TextWriter output)
    {
        Environment.SetEnvironmentVariable(GpuBenchmark.DeviceVariable, device);
        int failed = 0;
        int runs = 0;
        foreach (var type in BenchmarkTypes)
        foreach (var storage in StorageVariants(type))
        {
            runs++;
            var instance = (GpuBenchmark)Activator.CreateInstance(type)!;
            instance.UseSmokeSizes();
            foreach (var (name, value) in storage) GpuColumns.SetMember(instance, name, value);
            string label = type.Name + string.Concat(storage.Select(p => $" {p.Name}={p.Value}"));
            var methods = type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null).ToList();
            var ran = new List<string>();
            try
            {
                Invoke(type, instance, typeof(GlobalSetupAttribute));
                foreach (var method in methods)
                {
                    if (!instance.CanRun(method.Name)) continue;
                    method.Invoke(instance, null);
                    var (bytes, flops) = instance.Work(method.Name);
                    if (!(bytes > 0 || flops > 0))
                        throw new InvalidOperationException($"{method.Name}: the work model gives no bytes and no FLOPs");
                    ran.Add(method.Name);
                }
                output.WriteLine($"ok      {label}: validated; ran {string.Join(", ", ran)}");
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } cause } ? cause : e;
                output.WriteLine($"FAILED  {label}: {inner.GetType().Name}: {inner.Message}");
                failed++;
            }
            finally
            {
                try { Invoke(type, instance, typeof(GlobalCleanupAttribute)); }
                catch (Exception e) { output.WriteLine($"  cleanup of {type.Name} threw {e.GetType().Name}: {e.Message}"); }
            }
        }
        output.WriteLine($"smoke: {BenchmarkTypes.Count} GPU benchmark classes, {runs} runs on {device}, {runs - failed} passed, {failed} failed");
        return failed == 0 && runs > 0 ? 0 : 1;
    }

    /// <summary>Every combination of the class's bool [Params] (the f32/bf16 storage switches); one empty set when it has none.</summary>
    static IEnumerable<List<(string Name, object Value)>> StorageVariants(Type type)
    {
        var switches = type.GetFields().Where(f => f.FieldType == typeof(bool) && f.GetCustomAttribute<ParamsAttribute>() is not null).ToList();
        for (int mask = 0; mask < 1 << switches.Count; mask++)
            yield return switches.Select((f, i) => (f.Name, (object)((mask >> i & 1) == 1))).ToList();
    }

    static void Invoke(Type type, object instance, Type attribute)
    {
        foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute(attribute) is not null))
            method.Invoke(instance, null);
    }
}

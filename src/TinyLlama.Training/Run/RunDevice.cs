using TinyLlama.Kernels;
using TinyLlama.Model;
using TinyLlama.Tensors;

namespace TinyLlama.Training.Run;

/// <summary>Where a run trains and in which precision: the --device and --precision flags turned into a placed model.</summary>
public static class RunDevice
{
    /// <summary>
    /// The tensor device and activation dtype a run asks for. "cuda-sim" turns this process's cuda:0 into the
    /// simulated device. Errors name the flag and what it accepts.
    /// </summary>
    public static (Device Device, DType Activations) Resolve(RunSettings settings, int worldSize, int localRank = 0)
    {
        string name = settings.Device;
        Device device;
        if (name == "cpu") device = Device.Cpu;
        else if (GpuDevices.IsDeviceName(name))
        {
            if (name == GpuDevices.SimulatedName) GpuDevices.UseSimulator();
            // Several ranks on one machine each take their own GPU, as under torchrun: plain "cuda" is cuda:LOCAL_RANK.
            // An explicit index is taken as given; the simulated device is one per process anyway.
            int index = name == GpuDevices.SimulatedName ? 0 : name == "cuda" && worldSize > 1 ? localRank : GpuDevices.ParseIndex(name);
            device = Device.Cuda(index);
            GpuDevices.Get(device.Index); // open it now: a missing driver or device fails here, with the reason
        }
        else throw new ArgumentException($"--device {name}: expected cpu, cuda, cuda:N or {GpuDevices.SimulatedName}");

        var activations = settings.Precision switch
        {
            null => device.Kind == DeviceKind.Cuda ? DType.BF16 : DType.F32,
            "f32" or "fp32" => DType.F32,
            "bf16" => DType.BF16,
            var other => throw new ArgumentException($"--precision {other}: expected bf16 or f32"),
        };
        if (activations == DType.BF16 && device.Kind == DeviceKind.Cpu)
            throw new ArgumentException("--precision bf16 needs --device cuda: the CPU ops compute in f32 (and f64 for checks)");
        return (device, activations);
    }

    /// <summary>Moves the model (f32 master weights) to the device and sets its activation dtype and checkpointing.</summary>
    public static void Place(LlamaForCausalLM model, Device device, DType activations, bool activationCheckpointing, TextWriter log)
    {
        model.To(device);
        model.ActivationDType = activations;
        model.ActivationCheckpointing = activationCheckpointing;
        if (device.Kind == DeviceKind.Cpu && activations == DType.F32 && !activationCheckpointing) return;
        var gpu = device.Kind == DeviceKind.Cuda ? GpuDevices.Get(device.Index) : null;
        log.WriteLine($"device: {(gpu is null ? "cpu" : gpu.ToString())}; {activations.Name()} activations, f32 master weights and AdamW state" +
                      (activationCheckpointing ? "; activation checkpointing (each layer recomputed in backward)" : ""));
    }

    /// <summary>The peak GPU memory the run's tensors held, and what the caching allocator reserved from the driver.</summary>
    public static void ReportMemory(Device device, TextWriter log)
    {
        if (device.Kind != DeviceKind.Cuda) return;
        var stats = GpuDevices.Get(device.Index).Memory.Statistics;
        log.WriteLine($"gpu memory: peak {GpuMemoryStatistics.Bytes(stats.PeakBytesInUse)} in use by tensors; {GpuMemoryStatistics.Bytes(stats.BytesReserved)} reserved from the driver now");
    }
}

namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>
/// Checks a GPU op against its CPU op (itself checked against finite differences): the same random inputs run once
/// on the CPU in f32 and once on the simulated cuda device in f32 or bf16; outputs and input gradients (for a random
/// output gradient) must agree within the dtype's tolerance.
/// </summary>
public static class GpuOpCheck
{
    /// <summary>Relative-to-scale tolerance: f32 kernels differ from the CPU only in summation order; bf16 rounds every stored value.</summary>
    public static double Tolerance(DType dtype) => dtype == DType.BF16 ? 3e-2 : 1e-4;

    /// <summary>
    /// Runs <paramref name="op"/> on CPU f32 copies and on cuda copies (cast to <paramref name="dtype"/>) of
    /// <paramref name="inputs"/>, backpropagates the same random gradient through both, and compares.
    /// Inputs that are i32 (ids, targets) are moved but take no gradient.
    /// </summary>
    public static void Matches(Func<Tensor[], Tensor> op, DType dtype, int seed, params Tensor[] inputs)
    {
        var cuda = SimulatedGpuFixture.Cuda;
        var cpuInputs = inputs.Select(t => Leaf(t, t.DType == DType.I32 ? DType.I32 : DType.F32, Device.Cpu)).ToArray();
        var gpuInputs = inputs.Select(t => Leaf(t, t.DType == DType.I32 ? DType.I32 : dtype, cuda)).ToArray();
        try
        {
            using var cpuOut = op(cpuInputs);
            using var gpuOut = op(gpuInputs);
            Assert.Equal(cuda, gpuOut.Device);
            Assert.Equal(cpuOut.ShapeArray(), gpuOut.ShapeArray());
            AssertClose("output", cpuOut, gpuOut, dtype);

            using var g = Tensor.Randn(cpuOut.ShapeArray(), new Random(seed), std: 1.0);
            using var gGpu = ToDevice(g, gpuOut.DType, cuda);
            cpuOut.Backward(g);
            gpuOut.Backward(gGpu);
            for (int i = 0; i < inputs.Length; i++)
            {
                if (!cpuInputs[i].RequiresGrad) continue;
                Assert.NotNull(gpuInputs[i].Grad);
                Assert.Equal(cuda, gpuInputs[i].Grad!.Device);
                AssertClose($"gradient of input {i}", cpuInputs[i].Grad!, gpuInputs[i].Grad!, dtype);
            }
        }
        finally
        {
            foreach (var t in cpuInputs.Concat(gpuInputs)) t.Dispose();
        }
    }

    /// <summary>max |expected − actual| ≤ tolerance · max(1, max |expected|).</summary>
    public static void AssertClose(string what, Tensor expected, Tensor actual, DType dtype)
    {
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        Assert.Equal(e.Length, a.Length);
        double scale = Math.Max(1.0, e.Length == 0 ? 0 : e.Max(Math.Abs));
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.Length; i++)
        {
            double d = Math.Abs(e[i] - a[i]);
            if (!(d <= worst) && !double.IsNaN(worst)) { worst = d; at = i; } // a NaN, once seen, stays the worst
        }
        Assert.True(worst <= Tolerance(dtype) * scale,
            $"{what}: largest difference {worst:G4} at element {at} (expected {(at < 0 ? 0 : e[at]):G6}, got {(at < 0 ? 0 : a[at]):G6}); tolerance {Tolerance(dtype) * scale:G4} for {dtype.Name()}");
    }

    /// <summary>A leaf on <paramref name="device"/> in <paramref name="dtype"/>, requiring grad unless it holds indices.</summary>
    static Tensor Leaf(Tensor t, DType dtype, Device device)
    {
        var leaf = ToDevice(t, dtype, device);
        if (dtype != DType.I32) leaf.RequiresGrad = true;
        return leaf;
    }

    /// <summary>A detached copy in dtype on device (converted on the host: the GPU cast is under test elsewhere).</summary>
    public static Tensor ToDevice(Tensor t, DType dtype, Device device)
    {
        using var noGrad = Autograd.NoGrad();
        using var host = t.DType == dtype ? t.Contiguous() : t.To(dtype);
        return device.Kind == DeviceKind.Cpu ? host.Contiguous() : host.To(device);
    }
}

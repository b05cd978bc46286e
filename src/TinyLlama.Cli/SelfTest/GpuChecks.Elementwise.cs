using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class GpuChecks
{
    /// <summary>
    /// The tensor engine's plumbing kernels: broadcast add and mul (a (rows, cols) tensor with a (cols) row), reductions
    /// over rows and over everything (against the double references, which are linear-time), and the strided copy and
    /// batched transpose that make views contiguous (exact: they only move bits).
    /// </summary>
    private static IEnumerable<KernelCheck> ElementwiseChecks(GpuDevice device, SelfTestShapes shapes, int seed)
    {
        foreach (var (bf16, label) in Storages)
        {
            foreach (var op in new[] { BinaryOp.Add, BinaryOp.Mul })
                yield return BroadcastCheck(device, shapes, seed, bf16, label, op);
            yield return ReduceRowsCheck(device, shapes, seed, bf16, label);
            yield return ReduceAllCheck(device, shapes, seed, bf16, label);
            yield return StridedCopyCheck(device, shapes, seed, bf16, label);
            yield return TransposeCheck(device, shapes, seed, bf16, label);
        }
    }

    private static KernelCheck BroadcastCheck(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label, BinaryOp binary)
    {
        string op = $"broadcast {binary.ToString().ToLowerInvariant()} {label} (gpu)";
        var (rows, cols) = shapes.Elementwise;
        var random = new RandomData(seed, op);
        var a = GpuScope.AsStored(random.Uniform(rows * cols), bf16); // (rows, cols)
        var b = GpuScope.AsStored(random.Uniform(cols), bf16);        // (cols), broadcast over rows
        return new KernelCheck(op, $"({rows},{cols})∘({cols})", Tolerance(bf16, Tolerances.Elementwise),
            () =>
            {
                using var gpu = new GpuScope(device);
                var ga = gpu.Upload(a, bf16);
                var gb = gpu.Upload(b, bf16);
                var output = gpu.Poisoned(a.Length, bf16);
                var kernel = device.Kernels.Get<BroadcastGpu>();
                if (bf16) kernel.Binary(device.Stream, ga.Bf16View, [rows, cols], gb.Bf16View, [cols], output.Bf16View, binary);
                else kernel.Binary(device.Stream, ga.F32, [rows, cols], gb.F32, [cols], output.F32, binary);
                return [gpu.Download(output)];
            },
            () =>
            {
                var output = new float[a.Length];
                for (int i = 0; i < a.Length; i++)
                    output[i] = binary == BinaryOp.Add ? a[i] + b[i % cols] : a[i] * b[i % cols];
                return [output];
            });
    }

    private static KernelCheck ReduceRowsCheck(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"reduce rows sum {label} (gpu)";
        var (rows, cols) = shapes.Softmax;
        var x = GpuScope.AsStored(new RandomData(seed, op).Uniform(rows * cols), bf16);
        return new KernelCheck(op, RowsCols(rows, cols), Tolerance(bf16, Tolerances.ForSum(cols)),
            () =>
            {
                using var gpu = new GpuScope(device);
                var gx = gpu.Upload(x, bf16);
                var output = gpu.Poisoned(rows, bf16);
                var kernel = device.Kernels.Get<ReduceGpu>();
                if (bf16) kernel.Rows(device.Stream, gx.Bf16View, output.Bf16View, cols, ReduceOp.Sum);
                else kernel.Rows(device.Stream, gx.F32, output.F32, cols, ReduceOp.Sum);
                return [gpu.Download(output)];
            },
            () =>
            {
                var output = new float[rows];
                Reduce.RowsReference(x, output, cols, ReduceOp.Sum);
                return [output];
            });
    }

    private static KernelCheck ReduceAllCheck(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"reduce all sum,max {label} (gpu)";
        var (rows, cols) = shapes.Elementwise;
        // Offset by 0.5 so the sum grows with n instead of cancelling towards 0, where a relative error means little.
        var x = GpuScope.AsStored(new RandomData(seed, op).Uniform(rows * cols).Select(v => v + 0.5f).ToArray(), bf16);
        return new KernelCheck(op, $"n={x.Length}", Tolerance(bf16, Tolerances.Reduction),
            () =>
            {
                using var gpu = new GpuScope(device);
                var gx = gpu.Upload(x, bf16);
                var sum = gpu.Poisoned(1, bf16);
                var max = gpu.Poisoned(1, bf16);
                var kernel = device.Kernels.Get<ReduceGpu>();
                if (bf16)
                {
                    kernel.All(device.Stream, gx.Bf16View, sum.Bf16View, ReduceOp.Sum);
                    kernel.All(device.Stream, gx.Bf16View, max.Bf16View, ReduceOp.Max);
                }
                else
                {
                    kernel.All(device.Stream, gx.F32, sum.F32, ReduceOp.Sum);
                    kernel.All(device.Stream, gx.F32, max.F32, ReduceOp.Max);
                }
                return [gpu.Download(sum), gpu.Download(max)];
            },
            () => [[(float)Reduce.AllReference(x, ReduceOp.Sum)], [(float)Reduce.AllReference(x, ReduceOp.Max)]]);
    }

    /// <summary>Makes a transposed view contiguous: source (rows, cols), view (cols, rows) with strides (1, cols), offset 1 row.</summary>
    private static KernelCheck StridedCopyCheck(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"strided copy {label} (gpu)";
        var (rows, cols) = shapes.Elementwise;
        var x = GpuScope.AsStored(new RandomData(seed, op).Uniform((rows + 1) * cols), bf16); // (rows + 1, cols)
        var layout = StridedLayout.Create([cols, rows], [1, cols], offset: cols);
        int count = rows * cols;
        return new KernelCheck(op, $"({cols},{rows}) strides (1,{cols}) offset {cols}", Tolerances.Exact,
            () =>
            {
                using var gpu = new GpuScope(device);
                var gx = gpu.Upload(x, bf16);
                var output = gpu.Poisoned(count, bf16);
                var kernel = device.Kernels.Get<StridedCopyGpu>();
                if (bf16) kernel.Copy(device.Stream, gx.Bf16View, layout, output.Bf16View);
                else kernel.Copy(device.Stream, gx.F32, layout, output.F32);
                return [gpu.Download(output)];
            },
            () =>
            {
                var output = new float[count];
                StridedCopy.CopyReference<float>(x, layout, output);
                return [output];
            });
    }

    private static KernelCheck TransposeCheck(GpuDevice device, SelfTestShapes shapes, int seed, bool bf16, string label)
    {
        string op = $"transpose {label} (gpu)";
        var (rows, cols) = shapes.Elementwise;
        const int batch = 2;
        var x = GpuScope.AsStored(new RandomData(seed, op).Uniform(batch * rows * cols), bf16); // (batch, rows, cols)
        return new KernelCheck(op, $"batch={batch} rows={rows} cols={cols}", Tolerances.Exact,
            () =>
            {
                using var gpu = new GpuScope(device);
                var gx = gpu.Upload(x, bf16);
                var output = gpu.Poisoned(x.Length, bf16);
                var kernel = device.Kernels.Get<StridedCopyGpu>();
                if (bf16) kernel.Transpose(device.Stream, gx.Bf16View, output.Bf16View, batch, rows, cols);
                else kernel.Transpose(device.Stream, gx.F32, output.F32, batch, rows, cols);
                return [gpu.Download(output)];
            },
            () =>
            {
                var output = new float[x.Length];
                StridedCopy.TransposeReference<float>(x, output, batch, rows, cols);
                return [output];
            });
    }
}

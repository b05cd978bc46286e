using K = TinyLlama.Kernels;

namespace TinyLlama.Tensors;

/// <summary>
/// The fused ops of a Llama block, each a single autograd Function over a CPU kernel (TinyLlama.Kernels) with a
/// hand-written backward. Shape vocabulary: B batch, T time, C channels, H heads, KvH kv heads, Hs head size, V vocab.
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// RMSNorm over the last axis: x (…, C), weight (C) → (…, C). On a cuda device x and weight share a dtype (f32 or
    /// bf16; the statistic kept for backward is f32 either way) and C is at most 8192 for backward.
    /// </summary>
    public static Tensor RmsNorm(Tensor x, Tensor weight, double eps = 1e-5)
    {
        if (OpChecks.AnyOnGpu(x, weight)) return GpuFunctional.RmsNorm(x, weight, eps);
        var dtype = OpChecks.ComputeInputs("rms_norm", x, weight);
        var (rows, c) = RmsNormShape(x, weight, eps);
        using var xc = x.CopyIfStrided();
        using var wc = weight.CopyIfStrided();
        var y = Tensor.Empty(x.ShapeArray(), dtype);
        var invRms = Tensor.Empty([rows], dtype);
        if (dtype == DType.F32) K.RmsNorm.Forward(xc.AsSpan<float>(), wc.AsSpan<float>(), y.AsSpan<float>(), invRms.AsSpan<float>(), rows, c, (float)eps);
        else K.RmsNorm.Forward(xc.AsSpan<double>(), wc.AsSpan<double>(), y.AsSpan<double>(), invRms.AsSpan<double>(), rows, c, eps);
        var fn = new RmsNormFunction(xc, wc, invRms, rows, c);
        invRms.Dispose();
        return Autograd.Record(y, fn, x, weight);
    }

    /// <summary>RMSNorm's shape and eps checks, shared by the CPU and GPU paths: (rows, C).</summary>
    internal static (int Rows, int Cols) RmsNormShape(Tensor x, Tensor weight, double eps)
    {
        const string op = "rms_norm";
        int c = x.Rank == 0 ? 0 : x.Size(-1);
        OpChecks.Rank(op, "weight", weight, 1);
        if (x.Rank == 0 || weight.Size(0) != c)
            throw new ArgumentException($"{op}: x has shape {x.ShapeText}, weight {weight.ShapeText}; expected weight (C) with C = x's last axis");
        if (eps <= 0) throw new ArgumentOutOfRangeException(nameof(eps), $"{op}: eps = {eps}; expected > 0");
        return (checked((int)(x.Numel / Math.Max(1, c))), c);
    }

    /// <summary>
    /// Tables for <see cref="Rope"/>: cos and sin, each (maxT, Hs/2), θᵢ = theta^(−2i/Hs).
    /// </summary>
    public static (Tensor Cos, Tensor Sin) RopeTables(int maxT, int headSize, double theta = 10000.0, DType dtype = DType.F32)
    {
        if (maxT <= 0 || headSize <= 0 || headSize % 2 != 0)
            throw new ArgumentException($"rope: maxT = {maxT}, headSize = {headSize}; expected positive values and an even head size");
        var cos = Tensor.Empty([maxT, headSize / 2], dtype);
        var sin = Tensor.Empty([maxT, headSize / 2], dtype);
        if (dtype == DType.F32) K.Rope.Tables(maxT, headSize, theta, cos.AsSpan<float>(), sin.AsSpan<float>());
        else if (dtype == DType.F64) K.Rope.Tables(maxT, headSize, theta, cos.AsSpan<double>(), sin.AsSpan<double>());
        else throw new ArgumentException($"rope: dtype {dtype.Name()} is not supported; expected f32 or f64");
        return (cos, sin);
    }

    /// <summary>
    /// <see cref="RopeTables(int, int, double, DType)"/> made on <paramref name="device"/>. A cuda device takes f32
    /// tables whatever the activations' dtype (bf16 x is rotated by f32 angles, rounded once): dtype must be f32 there.
    /// The tables are computed on the host and copied over once.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) RopeTables(int maxT, int headSize, double theta, DType dtype, Device device)
    {
        if (device.Kind == DeviceKind.Cpu) return RopeTables(maxT, headSize, theta, dtype);
        if (dtype != DType.F32)
            throw new ArgumentException($"rope: tables of dtype {dtype.Name()} on {device}; the GPU kernel takes f32 tables (also for bf16 activations): pass DType.F32");
        var (cos, sin) = RopeTables(maxT, headSize, theta, dtype);
        using (cos)
        using (sin)
        using (Autograd.NoGrad())
            return (cos.To(device), sin.To(device));
    }

    /// <summary>
    /// Rotary position embedding, rotate-half form: x (B, T, H, Hs); token t sits at position startPos + t.
    /// cos/sin from <see cref="RopeTables(int, int, double, DType)"/> must cover startPos + T positions. On a cuda
    /// device x is f32 or bf16 and the tables are f32 on the same device (make them with
    /// <see cref="RopeTables(int, int, double, DType, Device)"/>, or move the CPU tables with To(device)).
    /// </summary>
    public static Tensor Rope(Tensor x, Tensor cos, Tensor sin, int startPos = 0)
    {
        if (OpChecks.AnyOnGpu(x, cos, sin)) return GpuFunctional.Rope(x, cos, sin, startPos);
        var dtype = OpChecks.ComputeInputs("rope", x, cos, sin);
        var (b, t, h, hs) = RopeShape(x, cos, sin, startPos);
        using var xc = x.CopyIfStrided();
        using var cc = cos.CopyIfStrided();
        using var sc = sin.CopyIfStrided();
        var y = Tensor.Empty(x.ShapeArray(), dtype);
        if (dtype == DType.F32) K.Rope.Forward(xc.AsSpan<float>(), y.AsSpan<float>(), b, t, h, hs, cc.AsSpan<float>(), sc.AsSpan<float>(), startPos);
        else K.Rope.Forward(xc.AsSpan<double>(), y.AsSpan<double>(), b, t, h, hs, cc.AsSpan<double>(), sc.AsSpan<double>(), startPos);
        return Autograd.Record(y, new RopeFunction(cc, sc, startPos), x);
    }

    /// <summary>RoPE's shape and position checks, shared by the CPU and GPU paths: (B, T, H, Hs).</summary>
    internal static (int B, int T, int H, int Hs) RopeShape(Tensor x, Tensor cos, Tensor sin, int startPos)
    {
        const string op = "rope";
        OpChecks.Rank(op, "x", x, 4);
        int b = x.Size(0), t = x.Size(1), h = x.Size(2), hs = x.Size(3);
        if (hs % 2 != 0 || cos.Rank != 2 || !cos.Shape.SequenceEqual(sin.Shape) || cos.Size(1) != hs / 2)
            throw new ArgumentException($"{op}: x {x.ShapeText}, cos {cos.ShapeText}, sin {sin.ShapeText}; expected x (B, T, H, Hs) with even Hs and tables (maxT, Hs/2)");
        if (startPos < 0 || startPos + t > cos.Size(0))
            throw new ArgumentException($"{op}: positions [{startPos}, {startPos + t}) exceed the tables' {cos.Size(0)} positions");
        return (b, t, h, hs);
    }

    /// <summary>Softmax over the last axis (max-subtracted).</summary>
    public static Tensor Softmax(Tensor x)
    {
        if (OpChecks.AnyOnGpu(x)) return GpuFunctional.Softmax(x);
        var dtype = OpChecks.ComputeInputs("softmax", x);
        var (rows, cols) = SoftmaxShape(x);
        using var xc = x.CopyIfStrided();
        var y = Tensor.Empty(x.ShapeArray(), dtype);
        if (dtype == DType.F32) K.Softmax.Forward(xc.AsSpan<float>(), y.AsSpan<float>(), rows, cols);
        else K.Softmax.Forward(xc.AsSpan<double>(), y.AsSpan<double>(), rows, cols);
        return Autograd.Record(y, new SoftmaxFunction(y, rows, cols), x);
    }

    /// <summary>Softmax's shape check, shared by the CPU and GPU paths: (rows, cols).</summary>
    internal static (int Rows, int Cols) SoftmaxShape(Tensor x)
    {
        if (x.Rank == 0) throw new ArgumentException("softmax: x is a scalar; expected at least one axis");
        int cols = x.Size(-1);
        return (checked((int)(x.Numel / Math.Max(1, cols))), cols);
    }

    /// <summary>SiLU(x) = x·σ(x).</summary>
    public static Tensor Silu(Tensor x)
    {
        if (OpChecks.AnyOnGpu(x)) return GpuFunctional.Silu(x);
        var dtype = OpChecks.ComputeInputs("silu", x);
        using var xc = x.CopyIfStrided();
        var y = Tensor.Empty(x.ShapeArray(), dtype);
        if (dtype == DType.F32) K.SwiGlu.SiluForward(xc.AsSpan<float>(), y.AsSpan<float>());
        else K.SwiGlu.SiluForward(xc.AsSpan<double>(), y.AsSpan<double>());
        return Autograd.Record(y, new SiluFunction(xc), x);
    }

    /// <summary>The Llama MLP gate: SiLU(gate) ⊙ up, both of the same shape.</summary>
    public static Tensor SwiGlu(Tensor gate, Tensor up)
    {
        if (OpChecks.AnyOnGpu(gate, up)) return GpuFunctional.SwiGlu(gate, up);
        var dtype = OpChecks.ComputeInputs("swiglu", gate, up);
        SwiGluShape(gate, up);
        using var gc = gate.CopyIfStrided();
        using var uc = up.CopyIfStrided();
        var y = Tensor.Empty(gate.ShapeArray(), dtype);
        if (dtype == DType.F32) K.SwiGlu.Forward(gc.AsSpan<float>(), uc.AsSpan<float>(), y.AsSpan<float>());
        else K.SwiGlu.Forward(gc.AsSpan<double>(), uc.AsSpan<double>(), y.AsSpan<double>());
        return Autograd.Record(y, new SwiGluFunction(gc, uc), gate, up);
    }

    /// <summary>SwiGLU's shape check, shared by the CPU and GPU paths.</summary>
    internal static void SwiGluShape(Tensor gate, Tensor up)
    {
        if (!gate.Shape.SequenceEqual(up.Shape))
            throw new ArgumentException($"swiglu: gate {gate.ShapeText} and up {up.ShapeText}; expected the same shape");
    }
}

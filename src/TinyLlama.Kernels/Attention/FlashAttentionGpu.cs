using ILGPU;
using ILGPU.Runtime;

namespace TinyLlama.Kernels;

/// <summary>
/// Launches the FlashAttention-2 kernels (<see cref="FlashAttentionKernels"/>) on one accelerator, for f32 or bf16
/// (ushort) storage and head sizes 16, 64 and 128. Every argument is checked on the host before a launch: a kernel
/// that indexes out of range has no way to report it (on the CPU accelerator it kills the process).
/// Kernels are compiled on first use of their (storage, head size) pair.
/// </summary>
public sealed class FlashAttentionGpu(Accelerator accelerator)
{
    /// <summary>Head sizes with a kernel instantiation: 64 (TinyLlama), 128, and 16 (small, for tests).</summary>
    public static IReadOnlyList<int> SupportedHeadSizes { get; } = [16, 64, 128];

    readonly Dictionary<(Type, int), object> variants = new();
    readonly Lock gate = new();
    Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, FlashDims>? tensorCoreForward;

    /// <summary>
    /// Whether the bf16, Hs = 64 forward runs on tensor cores (<see cref="FlashAttentionKernels.ForwardBf16Head64TensorCore"/>;
    /// emulated off the GPU). Otherwise, and for every other case, the SIMT kernels run.
    /// </summary>
    public bool TensorCores { get; init; } = true;

    /// <summary>
    /// Elements of the f32 workspace <see cref="Backward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int, int, int, int, float)"/>
    /// needs: the dQ accumulator (B·H·T·Hs) followed by D = rowsum(dO∘O) (B·H·T).
    /// </summary>
    public static long BackwardWorkspaceLength(int batch, int heads, int seqLen, int headSize) =>
        (long)batch * heads * seqLen * (headSize + 1L);

    /// <summary>output = softmax(scale·q·kᵀ, causal)·v per head; lse (B, H, T) = the natural log-sum-exp of each row.</summary>
    public void Forward(AcceleratorStream stream, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v,
        ArrayView<float> output, ArrayView<float> lse, int batch, int heads, int kvHeads, int seqLen, int headSize, float scale) =>
        ForwardAny<float, F32Element>(stream, q, k, v, output, lse, batch, heads, kvHeads, seqLen, headSize, scale);

    /// <inheritdoc cref="Forward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int, int, int, int, float)"/>
    public void Forward(AcceleratorStream stream, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v,
        ArrayView<ushort> output, ArrayView<float> lse, int batch, int heads, int kvHeads, int seqLen, int headSize, float scale) =>
        ForwardAny<ushort, Bf16Element>(stream, q, k, v, output, lse, batch, heads, kvHeads, seqLen, headSize, scale);

    /// <summary>
    /// dq, dk, dv (written, not accumulated) from the forward's inputs, its output and lse, and dOutput. dk and dv sum
    /// over the query heads sharing a kv head. workspace: f32, <see cref="BackwardWorkspaceLength"/> elements.
    /// </summary>
    public void Backward(AcceleratorStream stream, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v,
        ArrayView<float> output, ArrayView<float> lse, ArrayView<float> dOutput, ArrayView<float> dq, ArrayView<float> dk,
        ArrayView<float> dv, ArrayView<float> workspace, int batch, int heads, int kvHeads, int seqLen, int headSize, float scale) =>
        BackwardAny<float, F32Element>(stream, q, k, v, output, lse, dOutput, dq, dk, dv, workspace,
            batch, heads, kvHeads, seqLen, headSize, scale);

    /// <inheritdoc cref="Backward(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int, int, int, int, float)"/>
    public void Backward(AcceleratorStream stream, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v,
        ArrayView<ushort> output, ArrayView<float> lse, ArrayView<ushort> dOutput, ArrayView<ushort> dq, ArrayView<ushort> dk,
        ArrayView<ushort> dv, ArrayView<float> workspace, int batch, int heads, int kvHeads, int seqLen, int headSize, float scale) =>
        BackwardAny<ushort, Bf16Element>(stream, q, k, v, output, lse, dOutput, dq, dk, dv, workspace,
            batch, heads, kvHeads, seqLen, headSize, scale);

    void ForwardAny<T, TElement>(AcceleratorStream stream, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v,
        ArrayView<T> output, ArrayView<float> lse, int batch, int heads, int kvHeads, int seqLen, int headSize, float scale)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        const string op = "FlashAttentionGpu.Forward";
        CheckShape(op, batch, heads, kvHeads, seqLen, headSize, scale);
        long qn = (long)batch * heads * seqLen * headSize, kvn = (long)batch * kvHeads * seqLen * headSize;
        KernelArgs.Length(op, "q", q.Length, qn, "batch·heads·seqLen·headSize");
        KernelArgs.Length(op, "k", k.Length, kvn, "batch·kvHeads·seqLen·headSize");
        KernelArgs.Length(op, "v", v.Length, kvn, "batch·kvHeads·seqLen·headSize");
        KernelArgs.Length(op, "output", output.Length, qn, "batch·heads·seqLen·headSize");
        KernelArgs.Length(op, "lse", lse.Length, (long)batch * heads * seqLen, "batch·heads·seqLen");
        if (qn == 0) return;
        var dims = new FlashDims(batch, heads, kvHeads, seqLen, scale);
        if (TensorCores && headSize == FlashMma.HeadSize && typeof(T) == typeof(ushort))
        {
            lock (gate)
                tensorCoreForward ??= accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>,
                    ArrayView<ushort>, ArrayView<float>, FlashDims>(FlashAttentionKernels.ForwardBf16Head64TensorCore);
            var grid = new Index3D((seqLen + FlashMma.Rows - 1) / FlashMma.Rows, heads, batch);
            tensorCoreForward(stream, new KernelConfig(grid, new Index3D(FlashMma.GroupSize, 1, 1)), Bf16(q), Bf16(k), Bf16(v),
                Bf16(output), lse, dims);
            return;
        }
        Variant<T, TElement>(headSize).Forward(stream, q, k, v, output, lse, dims);
    }

    void BackwardAny<T, TElement>(AcceleratorStream stream, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v,
        ArrayView<T> output, ArrayView<float> lse, ArrayView<T> dOutput, ArrayView<T> dq, ArrayView<T> dk, ArrayView<T> dv,
        ArrayView<float> workspace, int batch, int heads, int kvHeads, int seqLen, int headSize, float scale)
        where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        const string op = "FlashAttentionGpu.Backward";
        CheckShape(op, batch, heads, kvHeads, seqLen, headSize, scale);
        long qn = (long)batch * heads * seqLen * headSize, kvn = (long)batch * kvHeads * seqLen * headSize;
        const string qRule = "batch·heads·seqLen·headSize", kvRule = "batch·kvHeads·seqLen·headSize";
        KernelArgs.Length(op, "q", q.Length, qn, qRule);
        KernelArgs.Length(op, "k", k.Length, kvn, kvRule);
        KernelArgs.Length(op, "v", v.Length, kvn, kvRule);
        KernelArgs.Length(op, "output", output.Length, qn, qRule);
        KernelArgs.Length(op, "lse", lse.Length, (long)batch * heads * seqLen, "batch·heads·seqLen");
        KernelArgs.Length(op, "dOutput", dOutput.Length, qn, qRule);
        KernelArgs.Length(op, "dq", dq.Length, qn, qRule);
        KernelArgs.Length(op, "dk", dk.Length, kvn, kvRule);
        KernelArgs.Length(op, "dv", dv.Length, kvn, kvRule);
        KernelArgs.Length(op, "workspace", workspace.Length, BackwardWorkspaceLength(batch, heads, seqLen, headSize),
            "batch·heads·seqLen·(headSize+1)");
        if (qn == 0) return;
        var dims = new FlashDims(batch, heads, kvHeads, seqLen, scale);
        var dqAccumulator = workspace.SubView(0, qn);               // (B, H, T, Hs) f32
        var delta = workspace.SubView(qn, (long)batch * heads * seqLen); // (B, H, T) f32
        Variant<T, TElement>(headSize).Backward(accelerator, stream, q, k, v, output, lse, dOutput, dq, dk, dv,
            dqAccumulator, delta, dims, headSize);
    }

    static ArrayView<ushort> Bf16<T>(ArrayView<T> view) where T : unmanaged =>
        System.Runtime.CompilerServices.Unsafe.As<ArrayView<T>, ArrayView<ushort>>(ref view);

    static void CheckShape(string op, int batch, int heads, int kvHeads, int seqLen, int headSize, float scale)
    {
        KernelArgs.NonNegative(op, "batch", batch);
        KernelArgs.Positive(op, "heads", heads);
        KernelArgs.Positive(op, "kvHeads", kvHeads);
        KernelArgs.NonNegative(op, "seqLen", seqLen);
        if (heads % kvHeads != 0)
            throw new ArgumentException($"{op}: heads ({heads}) must be a multiple of kvHeads ({kvHeads})", nameof(kvHeads));
        if (!SupportedHeadSizes.Contains(headSize))
            throw new ArgumentOutOfRangeException(nameof(headSize), headSize,
                $"{op}: headSize must be one of {string.Join(", ", SupportedHeadSizes)}, got {headSize}");
        if (!float.IsFinite(scale) || scale <= 0)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, $"{op}: scale must be finite and > 0, got {scale}");
        if ((long)batch * heads * seqLen > int.MaxValue)
            throw new ArgumentException($"{op}: batch·heads·seqLen ({(long)batch * heads * seqLen}) must fit in an int (rows are counted in int)", nameof(seqLen));
        if (heads > 65535 || batch > 65535)
            throw new ArgumentException($"{op}: heads ({heads}) and batch ({batch}) must be at most 65535 (grid y and z)", heads > 65535 ? nameof(heads) : nameof(batch));
    }

    IFlashVariant<T> Variant<T, TElement>(int headSize) where T : unmanaged where TElement : struct, IGpuElement<T>
    {
        lock (gate)
        {
            if (!variants.TryGetValue((typeof(T), headSize), out object? variant))
            {
                variant = headSize switch
                {
                    16 => new FlashVariant<T, TElement, FlashHead16>(accelerator),
                    64 => new FlashVariant<T, TElement, FlashHead64>(accelerator),
                    _ => new FlashVariant<T, TElement, FlashHead128>(accelerator),
                };
                variants.Add((typeof(T), headSize), variant);
            }
            return (IFlashVariant<T>)variant;
        }
    }
}

interface IFlashVariant<T> where T : unmanaged
{
    void Forward(AcceleratorStream stream, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> output,
        ArrayView<float> lse, FlashDims dims);

    void Backward(Accelerator accelerator, AcceleratorStream stream, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v,
        ArrayView<T> output, ArrayView<float> lse, ArrayView<T> dOutput, ArrayView<T> dq, ArrayView<T> dk, ArrayView<T> dv,
        ArrayView<float> dqAccumulator, ArrayView<float> delta, FlashDims dims, int headSize);
}

/// <summary>The loaded kernels of one (storage, head shape) pair.</summary>
sealed class FlashVariant<T, TElement, TShape> : IFlashVariant<T>
    where T : unmanaged where TElement : struct, IGpuElement<T> where TShape : struct, IFlashShape
{
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, FlashDims> forward;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, int, int> prepare;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, FlashDims> backward;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<T>, float> finishDq;

    public FlashVariant(Accelerator accelerator)
    {
        forward = accelerator.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>, FlashDims>(
            FlashAttentionKernels.Forward<T, TElement, TShape>);
        prepare = accelerator.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, int, int>(
            FlashAttentionKernels.BackwardPrepare<T, TElement>);
        backward = accelerator.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<T>, ArrayView<T>, FlashDims>(
            FlashAttentionKernels.Backward<T, TElement, TShape>);
        finishDq = accelerator.LoadKernel<ArrayView<float>, ArrayView<T>, float>(FlashAttentionKernels.BackwardFinishDq<T, TElement>);
    }

    public void Forward(AcceleratorStream stream, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> output,
        ArrayView<float> lse, FlashDims dims)
    {
        int br = default(TShape).ForwardRows;
        var grid = new Index3D((dims.SeqLen + br - 1) / br, dims.Heads, dims.Batch);
        forward(stream, new KernelConfig(grid, new Index3D(FlashShape.ForwardGroupSize<TShape>(), 1, 1)), q, k, v, output, lse, dims);
    }

    public void Backward(Accelerator accelerator, AcceleratorStream stream, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v,
        ArrayView<T> output, ArrayView<float> lse, ArrayView<T> dOutput, ArrayView<T> dq, ArrayView<T> dk, ArrayView<T> dv,
        ArrayView<float> dqAccumulator, ArrayView<float> delta, FlashDims dims, int headSize)
    {
        int rows = dims.Batch * dims.Heads * dims.SeqLen;
        const int prepareGroup = 256, warpsPerGroup = prepareGroup / 32;
        int prepareGroups = accelerator.AcceleratorType == AcceleratorType.Cuda
            ? Math.Min((rows + warpsPerGroup - 1) / warpsPerGroup, accelerator.NumMultiprocessors * 16)
            : 2;
        prepare(stream, new KernelConfig(prepareGroups, prepareGroup), output, dOutput, delta, dqAccumulator, rows, headSize);

        int bc = default(TShape).BackwardKeyRows;
        var grid = new Index3D((dims.SeqLen + bc - 1) / bc, dims.KvHeads, dims.Batch);
        backward(stream, new KernelConfig(grid, new Index3D(FlashShape.BackwardGroupSize<TShape>(), 1, 1)),
            q, k, v, dOutput, lse, delta, dqAccumulator, dk, dv, dims);

        finishDq(stream, GpuLaunch.Elementwise(accelerator, dq.Length), dqAccumulator, dq, dims.Scale);
    }
}

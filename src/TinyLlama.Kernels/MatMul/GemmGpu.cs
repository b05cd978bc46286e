using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace TinyLlama.Kernels;

/// <summary>Which GEMM kernel runs.</summary>
public enum GemmGpuPath
{
    /// <summary>bf16 operands on tensor cores where the device has them (sm_80 and later, or emulated on the CPU accelerator); the SIMT kernel otherwise.</summary>
    Auto,
    /// <summary>The tensor-core kernel; refused where tensor cores are not available.</summary>
    TensorCore,
    /// <summary>The plain shared-memory FMA kernel.</summary>
    Simt,
}

/// <summary>How the tensor-core kernel fills shared memory (see <see cref="GemmKernels.TensorCoreRegisterStaged{TC, TCElement}"/>).</summary>
public enum GemmGpuPipeline
{
    /// <summary>Global → registers → shared, two shared stages, the next tile's loads in flight during the MMAs.</summary>
    RegisterStaged,
    /// <summary>cp.async global → shared, 2–4 stages (<see cref="GemmGpuOptions.Stages"/>).</summary>
    CpAsync,
}

/// <summary>Tuning and testing knobs of <see cref="GemmGpu"/>; the default is what training uses.</summary>
public readonly record struct GemmGpuOptions
{
    public GemmGpuPath Path { get; init; }

    /// <summary>
    /// The tensor-core kernel's shared-memory pipeline. Register staging is the default because it is the variant
    /// that ptxas (CUDA 11.8) assembles without local memory; see docs/gpu-matmul.md.
    /// </summary>
    public GemmGpuPipeline Pipeline { get; init; }

    /// <summary>Shared-memory stages of the cp.async pipeline, 2 to 4; 0 means 3 (48 KB). 4 stages (64 KB) opt in past 48 KB.</summary>
    public int Stages { get; init; }

    /// <summary>Read A and B with ordinary guarded loads even where 16-byte cp.async would do (the unaligned path).</summary>
    public bool ScalarLoads { get; init; }
}

/// <summary>
/// Matrix products on one accelerator, with the conventions of <see cref="Gemm.Multiply{T}"/>: row-major matrices,
/// C = alpha·op(A)·op(B) + beta·C, op(A) (M, K), op(B) (K, N), leading dimensions as row strides, beta = 0 never
/// reads C. bf16 operands accumulate in f32 and store C as f32 or bf16; f32 operands take the SIMT kernel.
/// Everything is checked on the host before a launch; errors name the argument.
/// </summary>
public sealed class GemmGpu
{
    const string Op = "GemmGpu.Multiply";
    const int MaxGridYz = 65535;

    readonly Accelerator accelerator;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, GemmGpuParams> tensorCoreF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, GemmGpuParams> tensorCoreBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, GemmGpuParams> stagedF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, GemmGpuParams> stagedBf16;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmGpuParams> simtF32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, GemmGpuParams> simtBf16F32;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, GemmGpuParams> simtBf16;

    public GemmGpu(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        tensorCoreF32 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, GemmGpuParams>(
            GemmKernels.TensorCore<float, F32Element>);
        tensorCoreBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, GemmGpuParams>(
            GemmKernels.TensorCore<ushort, Bf16Element>);
        stagedF32 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, GemmGpuParams>(
            GemmKernels.TensorCoreRegisterStaged<float, F32Element>);
        stagedBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, GemmGpuParams>(
            GemmKernels.TensorCoreRegisterStaged<ushort, Bf16Element>);
        simtF32 = accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmGpuParams>(
            GemmKernels.Simt<float, F32Element, float, F32Element>);
        simtBf16F32 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, GemmGpuParams>(
            GemmKernels.Simt<ushort, Bf16Element, float, F32Element>);
        simtBf16 = accelerator.LoadKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, GemmGpuParams>(
            GemmKernels.Simt<ushort, Bf16Element, ushort, Bf16Element>);
        TensorCores = accelerator switch
        {
            CudaAccelerator cuda => cuda.Architecture >= CudaArchitecture.SM_80,
            _ => accelerator.AcceleratorType == AcceleratorType.CPU, // emulated, for tests; OpenCL ignores inline PTX
        };
    }

    /// <summary>Whether the tensor-core kernel can run here (natively on sm_80+, emulated on the CPU accelerator).</summary>
    public bool TensorCores { get; }

    /// <summary>bf16 A, B; f32 C.</summary>
    public void Multiply(AcceleratorStream stream, bool transA, bool transB, int m, int n, int k,
        float alpha, ArrayView<ushort> a, int lda, ArrayView<ushort> b, int ldb, float beta, ArrayView<float> c, int ldc,
        GemmGpuOptions options = default) =>
        MultiplyBatched(stream, transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1, options);

    /// <summary>bf16 A, B, C (f32 accumulation, one rounding of the result).</summary>
    public void Multiply(AcceleratorStream stream, bool transA, bool transB, int m, int n, int k,
        float alpha, ArrayView<ushort> a, int lda, ArrayView<ushort> b, int ldb, float beta, ArrayView<ushort> c, int ldc,
        GemmGpuOptions options = default) =>
        MultiplyBatched(stream, transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1, options);

    /// <summary>f32 A, B, C on the SIMT kernel.</summary>
    public void Multiply(AcceleratorStream stream, bool transA, bool transB, int m, int n, int k,
        float alpha, ArrayView<float> a, int lda, ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc,
        GemmGpuOptions options = default) =>
        MultiplyBatched(stream, transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1, options);

    /// <summary>
    /// <paramref name="batch"/> independent products; matrix i of each operand starts at i·stride (0 broadcasts one
    /// A or B to every entry; strideC must not be 0 when batch &gt; 1). bf16 A, B; f32 C.
    /// </summary>
    public void MultiplyBatched(AcceleratorStream stream, bool transA, bool transB, int m, int n, int k,
        float alpha, ArrayView<ushort> a, int lda, long strideA, ArrayView<ushort> b, int ldb, long strideB,
        float beta, ArrayView<float> c, int ldc, long strideC, int batch, GemmGpuOptions options = default)
    {
        var p = Validate(transA, transB, m, n, k, alpha, a.Length, lda, strideA, b.Length, ldb, strideB,
            beta, c.Length, ldc, strideC, batch, options);
        if (IsEmpty(p)) return;
        if (UseTensorCores(options)) LaunchTensorCore(options.Pipeline == GemmGpuPipeline.CpAsync ? tensorCoreF32 : stagedF32, stream, p, a, b, c, options);
        else LaunchSimt(simtBf16F32, stream, p, a, b, c);
    }

    /// <summary>As the f32-output overload, storing C as bf16.</summary>
    public void MultiplyBatched(AcceleratorStream stream, bool transA, bool transB, int m, int n, int k,
        float alpha, ArrayView<ushort> a, int lda, long strideA, ArrayView<ushort> b, int ldb, long strideB,
        float beta, ArrayView<ushort> c, int ldc, long strideC, int batch, GemmGpuOptions options = default)
    {
        var p = Validate(transA, transB, m, n, k, alpha, a.Length, lda, strideA, b.Length, ldb, strideB,
            beta, c.Length, ldc, strideC, batch, options);
        if (IsEmpty(p)) return;
        if (UseTensorCores(options)) LaunchTensorCore(options.Pipeline == GemmGpuPipeline.CpAsync ? tensorCoreBf16 : stagedBf16, stream, p, a, b, c, options);
        else LaunchSimt(simtBf16, stream, p, a, b, c);
    }

    /// <summary>f32 operands: the SIMT kernel (tensor cores here take bf16 only).</summary>
    public void MultiplyBatched(AcceleratorStream stream, bool transA, bool transB, int m, int n, int k,
        float alpha, ArrayView<float> a, int lda, long strideA, ArrayView<float> b, int ldb, long strideB,
        float beta, ArrayView<float> c, int ldc, long strideC, int batch, GemmGpuOptions options = default)
    {
        if (options.Path == GemmGpuPath.TensorCore)
            throw new ArgumentException($"{Op}: the tensor-core kernel takes bf16 operands; f32 operands run on the SIMT kernel", nameof(options));
        var p = Validate(transA, transB, m, n, k, alpha, a.Length, lda, strideA, b.Length, ldb, strideB,
            beta, c.Length, ldc, strideC, batch, options);
        if (IsEmpty(p)) return;
        LaunchSimt(simtF32, stream, p, a, b, c);
    }

    static bool IsEmpty(GemmGpuParams p) => p.M == 0 || p.N == 0 || p.Batch == 0;

    bool UseTensorCores(GemmGpuOptions options)
    {
        if (options.Path == GemmGpuPath.TensorCore && !TensorCores)
            throw new NotSupportedException($"{Op}: {accelerator.Name} has no bf16 tensor cores (sm_80 or later)");
        return options.Path switch { GemmGpuPath.Simt => false, GemmGpuPath.TensorCore => true, _ => TensorCores };
    }

    void LaunchTensorCore<TC>(
        Action<AcceleratorStream, KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<TC>, GemmGpuParams> kernel,
        AcceleratorStream stream, GemmGpuParams p, ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<TC> c,
        GemmGpuOptions options)
        where TC : unmanaged
    {
        p.AddressA = a.LoadEffectiveAddressAsPtr().ToInt64();
        p.AddressB = b.LoadEffectiveAddressAsPtr().ToInt64();
        p.VectorA = !options.ScalarLoads && CanCopy16(p.AddressA, p.Lda, p.StrideA) ? 1 : 0;
        p.VectorB = !options.ScalarLoads && CanCopy16(p.AddressB, p.Ldb, p.StrideB) ? 1 : 0;
        int stages = options.Pipeline == GemmGpuPipeline.CpAsync ? p.Stages : GemmKernels.RegisterStagedStages;
        p.Stages = stages;
        int sharedBytes = stages * GemmKernels.StageBytes
            + (accelerator.AcceleratorType == AcceleratorType.Cuda ? 0 : GemmKernels.EmulationScratchBytes);
        CudaSharedMemoryOptIn.Allow(accelerator, kernel, sharedBytes);
        var grid = new Index3D(Tiles(p.N, GemmKernels.TileN), Tiles(p.M, GemmKernels.TileM), Math.Min(p.Batch, MaxGridYz));
        var config = new KernelConfig(grid, new Index3D(GemmKernels.TensorCoreGroupSize, 1, 1),
            SharedMemoryConfig.RequestDynamic<GemmKernels.Chunk16>(sharedBytes / 16));
        kernel(stream, config, a, b, c, p);
    }

    /// <summary>16-byte cp.async needs every chunk's address aligned: the base, and every row and batch step.</summary>
    internal static bool CanCopy16(long address, int ld, long stride) => address % 16 == 0 && ld % 8 == 0 && stride % 8 == 0;

    static void LaunchSimt<TIn, TC>(
        Action<AcceleratorStream, KernelConfig, ArrayView<TIn>, ArrayView<TIn>, ArrayView<TC>, GemmGpuParams> kernel,
        AcceleratorStream stream, GemmGpuParams p, ArrayView<TIn> a, ArrayView<TIn> b, ArrayView<TC> c)
        where TIn : unmanaged where TC : unmanaged
    {
        var grid = new Index3D(Tiles(p.N, GemmKernels.SimtTile), Tiles(p.M, GemmKernels.SimtTile), Math.Min(p.Batch, MaxGridYz));
        kernel(stream, new KernelConfig(grid, new Index3D(GemmKernels.SimtGroupSize, 1, 1)), a, b, c, p);
    }

    static int Tiles(int extent, int tile) => (extent + tile - 1) / tile;

    /// <summary>Checks every argument against the others and packs them for the kernels.</summary>
    internal static GemmGpuParams Validate(bool transA, bool transB, int m, int n, int k, float alpha,
        long lengthA, int lda, long strideA, long lengthB, int ldb, long strideB,
        float beta, long lengthC, int ldc, long strideC, int batch, GemmGpuOptions options)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(m < 0 ? nameof(m) : n < 0 ? nameof(n) : nameof(k),
                $"{Op}: dims (m, n, k) = ({m}, {n}, {k}); expected all ≥ 0");
        KernelArgs.NonNegative(Op, nameof(batch), batch);
        KernelArgs.NonNegative(Op, nameof(strideA), strideA);
        KernelArgs.NonNegative(Op, nameof(strideB), strideB);
        KernelArgs.NonNegative(Op, nameof(strideC), strideC);
        if (strideC == 0 && batch > 1 && m > 0 && n > 0)
            throw new ArgumentException(
                $"{Op}: strideC = 0 with batch = {batch}; expected strideC ≥ {(long)(m - 1) * ldc + n} so the outputs do not overlap",
                nameof(strideC));
        if (options.Stages != 0 && (options.Stages < GemmKernels.MinStages || options.Stages > GemmKernels.MaxStages))
            throw new ArgumentOutOfRangeException(nameof(options),
                $"{Op}: options.Stages = {options.Stages}; expected 0 (default) or {GemmKernels.MinStages}..{GemmKernels.MaxStages}");
        if (options.Stages != 0 && options.Pipeline != GemmGpuPipeline.CpAsync)
            throw new ArgumentException($"{Op}: options.Stages = {options.Stages} applies to the cp.async pipeline; the register-staged one has 2", nameof(options));
        if (!float.IsFinite(alpha)) throw new ArgumentException($"{Op}: alpha = {alpha}; expected a finite number", nameof(alpha));
        if (!float.IsFinite(beta)) throw new ArgumentException($"{Op}: beta = {beta}; expected a finite number", nameof(beta));
        bool product = m > 0 && n > 0 && k > 0 && batch > 0, output = m > 0 && n > 0 && batch > 0;
        // Stored shapes: A is (M, K) or, transposed, (K, M); B is (K, N) or (N, K).
        CheckOperand("A", "lda", "strideA", transA, transA ? k : m, transA ? m : k, lengthA, lda, strideA, batch, m, n, k, product);
        CheckOperand("B", "ldb", "strideB", transB, transB ? n : k, transB ? k : n, lengthB, ldb, strideB, batch, m, n, k, product);
        CheckOperand("C", "ldc", "strideC", false, m, n, lengthC, ldc, strideC, batch, m, n, k, output);
        if (Tiles(m, GemmKernels.SimtTile) > MaxGridYz)
            throw new ArgumentOutOfRangeException(nameof(m), $"{Op}: m = {m}; expected m ≤ {MaxGridYz * GemmKernels.SimtTile} (grid rows)");
        return new GemmGpuParams
        {
            M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, Batch = batch,
            StrideA = strideA, StrideB = strideB, StrideC = strideC, Alpha = alpha, Beta = beta,
            TransA = transA ? 1 : 0, TransB = transB ? 1 : 0,
            Stages = options.Stages == 0 ? GemmKernels.DefaultStages : options.Stages,
        };
    }

    static void CheckOperand(string name, string ldName, string strideName, bool trans, int rows, int cols, long length,
        int ld, long stride, int batch, int m, int n, int k, bool needed)
    {
        string what = $"{name}{(trans ? "ᵀ" : "")} stored as ({rows}, {cols}) for (m, n, k) = ({m}, {n}, {k})";
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"{Op}: {ldName} = {ld} with {what}; expected {ldName} ≥ {Math.Max(1, cols)}", ldName);
        if (!needed) return;
        long required = (batch - 1) * stride + (long)(rows - 1) * ld + cols;
        if (length < required)
        {
            throw new ArgumentException(
                $"{Op}: {name} has {length} elements with {what}, {ldName} = {ld}, {strideName} = {stride}, batch = {batch}; " +
                $"expected at least ({batch} − 1)·{stride} + ({rows} − 1)·{ld} + {cols} = {required}", name.ToLowerInvariant());
        }
    }
}

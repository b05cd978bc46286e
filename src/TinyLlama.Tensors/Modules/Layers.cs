namespace TinyLlama.Tensors.Modules;

/// <summary>y = x · Wᵀ (+ b), W (out, in) as in PyTorch and Hugging Face checkpoints.</summary>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, bool bias = false, Random? rng = null, double? std = null, DType dtype = DType.F32)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: in = {inFeatures}, out = {outFeatures}; expected positive sizes");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        rng ??= new Random(0);
        // PyTorch's default is U(−1/√in, 1/√in) for weight and bias; callers (the Llama model) pass a normal std instead (bias 0).
        Weight = RegisterParameter("weight", std is double s
            ? Tensor.Randn([outFeatures, inFeatures], rng, s, dtype: dtype)
            : Tensor.Rand([outFeatures, inFeatures], rng, -1 / Math.Sqrt(inFeatures), 1 / Math.Sqrt(inFeatures), dtype));
        if (bias)
            Bias = RegisterParameter("bias", std is null
                ? Tensor.Rand([outFeatures], rng, -1 / Math.Sqrt(inFeatures), 1 / Math.Sqrt(inFeatures), dtype)
                : Tensor.Zeros([outFeatures], dtype));
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    public Tensor Weight { get; }

    public Tensor? Bias { get; }

    /// <summary>x (…, in) → (…, out).</summary>
    public Tensor Forward(Tensor x)
    {
        if (x.Rank == 0 || x.Size(-1) != InFeatures)
            throw new ArgumentException($"Linear: input {x.ShapeText}; expected the last axis to be in_features = {InFeatures}");
        // Mixed precision (as torch.autocast): the f32 master weight is cast to the activations' dtype for the
        // product; the gradient flows back through the cast into the f32 .Grad.
        if (Weight.DType == x.DType) return Project(x, Weight, Bias);
        using var w = Weight.To(x.DType);
        using var b = Bias?.To(x.DType);
        return Project(x, w, b);
    }

    private static Tensor Project(Tensor x, Tensor weight, Tensor? bias)
    {
        using var wt = weight.Transpose();
        var y = x.MatMul(wt);
        if (bias is null) return y;
        using (y) return y + bias;
    }
}

/// <summary>Token embedding table (V, C).</summary>
public sealed class Embedding : Module
{
    public Embedding(int vocab, int channels, Random? rng = null, double std = 1.0, DType dtype = DType.F32)
    {
        if (vocab <= 0 || channels <= 0)
            throw new ArgumentException($"Embedding: vocab = {vocab}, channels = {channels}; expected positive sizes");
        Weight = RegisterParameter("weight", Tensor.Randn([vocab, channels], rng ?? new Random(0), std, dtype: dtype));
    }

    public Tensor Weight { get; }

    /// <summary>
    /// The dtype of the looked-up rows; null keeps the table's. Mixed-precision training sets bf16 here: the rows
    /// (B·T·C values, far fewer than the V·C table) are cast after the lookup, and their gradient is cast back to the
    /// f32 table's dtype before the scatter-add.
    /// </summary>
    public DType? OutputDType { get; set; }

    /// <summary>i32 ids (…) → (…, C).</summary>
    public Tensor Forward(Tensor ids)
    {
        var rows = Functional.Embedding(Weight, ids);
        if (OutputDType is not { } dtype || dtype == rows.DType) return rows;
        using (rows) return rows.To(dtype);
    }
}

/// <summary>RMSNorm with a learned scale, initialised to ones.</summary>
public sealed class RmsNorm : Module
{
    public RmsNorm(int channels, double eps = 1e-5, DType dtype = DType.F32)
    {
        Eps = eps;
        Weight = RegisterParameter("weight", Tensor.Ones([channels], dtype));
    }

    public double Eps { get; }

    public Tensor Weight { get; }

    public Tensor Forward(Tensor x)
    {
        if (Weight.DType == x.DType) return Functional.RmsNorm(x, Weight, Eps);
        using var w = Weight.To(x.DType); // mixed precision: see Linear.Forward
        return Functional.RmsNorm(x, w, Eps);
    }
}

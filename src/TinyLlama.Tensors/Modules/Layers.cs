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
        using var wt = Weight.Transpose();
        var y = x.MatMul(wt);
        if (Bias is null) return y;
        using (y) return y + Bias;
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

    /// <summary>i32 ids (…) → (…, C).</summary>
    public Tensor Forward(Tensor ids) => Functional.Embedding(Weight, ids);
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

    public Tensor Forward(Tensor x) => Functional.RmsNorm(x, Weight, Eps);
}

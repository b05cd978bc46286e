namespace TinyLlama.Model;

/// <summary>
/// The shape of a Llama-2 model, with the field names of Hugging Face's <c>config.json</c> in the comments.
/// Shape vocabulary: V vocab, C hidden, L layers, H heads, KvH kv heads, Hs head size, T sequence length.
/// </summary>
public sealed record LlamaConfig
{
    public required int VocabSize { get; init; }          // vocab_size            V
    public required int HiddenSize { get; init; }         // hidden_size           C
    public required int IntermediateSize { get; init; }   // intermediate_size     SwiGLU width
    public required int NumLayers { get; init; }          // num_hidden_layers     L
    public required int NumHeads { get; init; }           // num_attention_heads   H
    public required int NumKvHeads { get; init; }         // num_key_value_heads   KvH
    public required int MaxSeqLen { get; init; }          // max_position_embeddings T
    public double RmsNormEps { get; init; } = 1e-5;       // rms_norm_eps
    public double RopeTheta { get; init; } = 10000.0;     // rope_theta
    public bool TieWordEmbeddings { get; init; }          // tie_word_embeddings (TinyLlama: false)
    public int BosTokenId { get; init; } = 1;             // bos_token_id
    public int EosTokenId { get; init; } = 2;             // eos_token_id

    /// <summary>Hs = C / H.</summary>
    public int HeadSize => HiddenSize / NumHeads;

    /// <summary>Query heads per kv head (8 for TinyLlama).</summary>
    public int QueriesPerKvHead => NumHeads / NumKvHeads;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first field that is out of range.</summary>
    public LlamaConfig Validate(string source = "config")
    {
        void Positive(int value, string field)
        {
            if (value <= 0) throw new ArgumentException($"{source}: {field} = {value}; expected a positive integer");
        }

        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(IntermediateSize, "intermediate_size");
        Positive(NumLayers, "num_hidden_layers");
        Positive(NumHeads, "num_attention_heads");
        Positive(NumKvHeads, "num_key_value_heads");
        Positive(MaxSeqLen, "max_position_embeddings");
        if (HiddenSize % NumHeads != 0)
            throw new ArgumentException($"{source}: hidden_size = {HiddenSize} is not divisible by num_attention_heads = {NumHeads}");
        if (HeadSize % 2 != 0)
            throw new ArgumentException($"{source}: head size hidden_size / num_attention_heads = {HeadSize} must be even for rotary embeddings");
        if (NumHeads % NumKvHeads != 0)
            throw new ArgumentException($"{source}: num_attention_heads = {NumHeads} is not a multiple of num_key_value_heads = {NumKvHeads}");
        if (!(RmsNormEps > 0) || RmsNormEps > 1)
            throw new ArgumentException($"{source}: rms_norm_eps = {RmsNormEps}; expected a small positive number");
        if (!(RopeTheta > 1))
            throw new ArgumentException($"{source}: rope_theta = {RopeTheta}; expected a number greater than 1");
        if (BosTokenId < 0 || BosTokenId >= VocabSize)
            throw new ArgumentException($"{source}: bos_token_id = {BosTokenId} is outside the vocabulary [0, {VocabSize})");
        if (EosTokenId < 0 || EosTokenId >= VocabSize)
            throw new ArgumentException($"{source}: eos_token_id = {EosTokenId} is outside the vocabulary [0, {VocabSize})");
        return this;
    }

    /// <summary>
    /// Parameters of the model, from the shapes alone (no allocation):
    /// embedding V·C, per layer q,o C·C + k,v 2·C·(KvH·Hs) + MLP 3·C·I + two norms 2·C, final norm C, lm_head V·C
    /// unless tied. TinyLlama-1.1B: 1,100,048,384.
    /// </summary>
    public long ParameterCount()
    {
        long c = HiddenSize, kv = (long)NumKvHeads * HeadSize;
        long perLayer = 2 * c * c + 2 * c * kv + 3 * c * IntermediateSize + 2 * c;
        return (long)VocabSize * c + NumLayers * perLayer + c + (TieWordEmbeddings ? 0 : (long)VocabSize * c);
    }

    public override string ToString() =>
        $"V={VocabSize} C={HiddenSize} I={IntermediateSize} L={NumLayers} H={NumHeads} KvH={NumKvHeads} T={MaxSeqLen}";
}

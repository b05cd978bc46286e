using TinyLlama.Kernels;

namespace TinyLlama.Tensors;

internal static partial class GpuFunctional
{
    /// <summary>
    /// Embedding lookup on the device: table (V, C) f32 or bf16, i32 ids on the same device. The ids stay on the
    /// device unchecked (reading them back would stall every step): an out-of-range id yields a NaN row.
    /// </summary>
    public static Tensor Embedding(Tensor table, Tensor ids)
    {
        const string op = "embedding";
        var dtype = OpChecks.GpuInputs(op, table);
        ArgumentNullException.ThrowIfNull(ids, op);
        OpChecks.SameDevice(op, table, ids);
        OpChecks.GpuIndices(op, "ids", ids, table.Device);
        OpChecks.Rank(op, "table", table, 2);
        int vocab = table.Size(0), channels = table.Size(1);
        using var tc = table.CopyIfStrided();
        using var ic = ids.CopyIfStrided();
        var output = Gpu.Empty(table, [.. ids.ShapeArray(), channels]);
        var kernels = Gpu.Kernels<EmbeddingGpu>(table);
        if (dtype == DType.F32) kernels.Forward(Gpu.Stream(table), Gpu.F32(tc), Gpu.I32(ic), Gpu.F32(output), vocab, channels);
        else kernels.Forward(Gpu.Stream(table), Gpu.Bf16(tc), Gpu.I32(ic), Gpu.Bf16(output), vocab, channels);
        return Autograd.Record(output, new GpuEmbeddingFunction(ic, vocab, channels), table);
    }
}

/// <summary>
/// Embedding backward on the device: a scatter-add of the output gradient into a zeroed table gradient of the
/// table's dtype, deterministic (repeated ids add up in position order, no atomics). A bf16 table gradient rounds
/// after every addition, as a bf16 table's gradient does anyway when it is stored.
/// </summary>
internal sealed class GpuEmbeddingFunction : Function
{
    private readonly Tensor _ids;
    private readonly int _vocab, _channels;

    public GpuEmbeddingFunction(Tensor ids, int vocab, int channels) => (_ids, _vocab, _channels) = (Save(ids), vocab, channels);

    public override string Name => "embedding";

    protected internal override Tensor?[] Backward(Tensor g)
    {
        using var gc = g.CopyIfStrided();
        var dTable = Gpu.Zeros(g, [_vocab, _channels]);
        var kernels = Gpu.Kernels<EmbeddingGpu>(g);
        if (g.DType == DType.F32) kernels.Backward(Gpu.Stream(g), Gpu.F32(gc), Gpu.I32(_ids), Gpu.F32(dTable), _vocab, _channels);
        else kernels.Backward(Gpu.Stream(g), Gpu.Bf16(gc), Gpu.I32(_ids), Gpu.Bf16(dTable), _vocab, _channels);
        return [dTable];
    }
}

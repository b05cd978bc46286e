using TinyLlama.Tensors;

namespace TinyLlama.Model.Checkpoints;

/// <summary>
/// One tensor as the header describes it. <see cref="Begin"/> and <see cref="End"/> are byte offsets into the
/// data section (which starts right after the header), End exclusive, as in the header's <c>data_offsets</c>.
/// </summary>
public sealed record SafetensorsEntry(string Name, string DTypeName, int[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;

    public long Numel => Shapes.Numel(Shape);

    public string ShapeText => Shapes.Format(Shape);
}

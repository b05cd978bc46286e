using System.Numerics;

namespace TinyLlama.Kernels;

// The definition: scalar reference versions, accumulating in double. Each fast version is tested against these.
public static partial class Embedding
{
    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> table, ReadOnlySpan<int> ids, Span<T> output, int vocab, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();

    public static void BackwardReference<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<int> ids, Span<T> dTable, int vocab, int channels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => throw new NotImplementedException();
}

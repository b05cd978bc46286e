using System.Buffers.Binary;

namespace TinyLlama.Distributed;

/// <summary>Which collective a segment belongs to; a mismatch means the ranks called different collectives.</summary>
internal enum CollectiveKind : byte
{
    AllReduceRing = 1,
    AllReduceGather = 2,
    Broadcast = 3,
    AllGather = 4,
    Barrier = 5,
}

/// <summary>
/// The 16 bytes in front of every segment on a ring link: a magic number, the collective, the collective's sequence
/// number on this group, the segment's index within it and its payload length. The receiver knows what all of these
/// must be before the header arrives, so a header that differs is refused before a single payload byte is read — a
/// peer can never make this rank read or allocate more than the collective expects.
/// </summary>
internal readonly record struct SegmentHeader(CollectiveKind Kind, uint Sequence, int Index, int Length)
{
    public const int Size = 16;
    const ushort Magic = 0x4C54; // "TL"

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Magic);
        destination[2] = (byte)Kind;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Sequence);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], Index);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], Length);
    }

    /// <summary>Throws a <see cref="PeerException"/> that says what was expected and what came, unless the header read is exactly <paramref name="expected"/>.</summary>
    public static void Check(ReadOnlySpan<byte> received, SegmentHeader expected, PeerLink from)
    {
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(received);
        if (magic != Magic)
            throw new PeerException(from.PeerRank, from.PeerAddress,
                $"rank {from.LocalRank}: rank {from.PeerRank} ({from.PeerAddress}) sent bytes that are not a segment header (magic 0x{magic:X4}, expected 0x{Magic:X4}): the stream is out of step");
        var got = new SegmentHeader((CollectiveKind)received[2], BinaryPrimitives.ReadUInt32LittleEndian(received[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(received[8..]), BinaryPrimitives.ReadInt32LittleEndian(received[12..]));
        if (got == expected) return;
        string why = got.Kind != expected.Kind || got.Sequence != expected.Sequence
            ? "the ranks called different collectives, or in a different order"
            : "the ranks passed buffers of different lengths";
        throw new PeerException(from.PeerRank, from.PeerAddress,
            $"rank {from.LocalRank}: rank {from.PeerRank} ({from.PeerAddress}) sent {got.Kind} #{got.Sequence} segment {got.Index} of {got.Length} bytes, " +
            $"expected {expected.Kind} #{expected.Sequence} segment {expected.Index} of {expected.Length} bytes: {why}");
    }
}

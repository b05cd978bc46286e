namespace TinyLlama.Kernels.Tests.MatMul;

/// <summary>
/// The XOR swizzles of the tensor-core kernel's shared tiles, checked on the host: every chunk has its own slot, and
/// the 8 addresses of one ldmatrix phase and of one cp.async/st.shared phase fall in 8 different 16-byte bank groups
/// (shared memory has 32 banks of 4 bytes, so 128 bytes are served in one wavefront).
/// </summary>
public class GemmSwizzleTests
{
    static int BankGroup(int byteOffset) => (byteOffset & 127) >> 4;

    [Fact]
    public void KContiguousTileIsAPermutationAndConflictFree()
    {
        // 128 rows × 4 chunks of 16 bytes (64-byte rows).
        var slots = new HashSet<int>();
        for (int row = 0; row < 128; row++)
        for (int chunk = 0; chunk < 4; chunk++)
        {
            int offset = GemmKernels.KContiguousOffset(row, chunk);
            Assert.InRange(offset, row * 64, row * 64 + 48); // stays in its row
            Assert.True(slots.Add(offset));
        }
        // ldmatrix: 8 consecutive rows (from a multiple of 8) at one logical chunk.
        for (int row0 = 0; row0 < 128; row0 += 8)
        for (int chunk = 0; chunk < 4; chunk++)
            AssertDistinctGroups(Enumerable.Range(row0, 8).Select(r => GemmKernels.KContiguousOffset(r, chunk)));
        // Fills: 8 consecutive chunks q (two rows of 4).
        for (int q0 = 0; q0 < 512; q0 += 8)
            AssertDistinctGroups(Enumerable.Range(q0, 8).Select(q => GemmKernels.KContiguousOffset(q >> 2, q & 3)));
    }

    [Fact]
    public void MnContiguousTileIsAPermutationAndConflictFree()
    {
        // 32 k-rows × 16 chunks of 16 bytes (256-byte rows).
        var slots = new HashSet<int>();
        for (int row = 0; row < 32; row++)
        for (int chunk = 0; chunk < 16; chunk++)
        {
            int offset = GemmKernels.MnContiguousOffset(row, chunk);
            Assert.InRange(offset, row * 256, row * 256 + 240);
            Assert.True(slots.Add(offset));
        }
        for (int row0 = 0; row0 < 32; row0 += 8)
        for (int chunk = 0; chunk < 16; chunk++)
            AssertDistinctGroups(Enumerable.Range(row0, 8).Select(r => GemmKernels.MnContiguousOffset(r, chunk)));
        for (int q0 = 0; q0 < 512; q0 += 8)
            AssertDistinctGroups(Enumerable.Range(q0, 8).Select(q => GemmKernels.MnContiguousOffset(q >> 4, q & 15)));
    }

    [Fact]
    public void WithoutTheSwizzleLdmatrixWouldConflict()
    {
        // The reason for the XOR: unswizzled, 8 rows of one chunk share two (k-contiguous) or one (m/n-contiguous) bank groups.
        Assert.Equal(2, Enumerable.Range(0, 8).Select(r => BankGroup(r * 64)).Distinct().Count());
        Assert.Single(Enumerable.Range(0, 8).Select(r => BankGroup(r * 256)).Distinct());
    }

    static void AssertDistinctGroups(IEnumerable<int> offsets) =>
        Assert.Equal(8, offsets.Select(BankGroup).Distinct().Count());
}

using TinyLlama.Kernels;
using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Tests.Checkpoints;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    [InlineData(DType.F64)]
    public void FloatTensorsRoundTripExactly(DType dtype)
    {
        using var original = Tensor.Randn([3, 5, 7], new Random(1), dtype: dtype);
        string path = _dir.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("w", original)]);

        using var file = SafetensorsFile.Open(path);
        using var read = file.Read("w");
        Assert.Equal(dtype, read.DType);
        Assert.Equal([3, 5, 7], read.ShapeArray());
        Assert.Equal(SafetensorsDTypes.NameOf(dtype), file.GetEntry("w").DTypeName);
        Assert.Equal(original.ToDoubleArray(), read.ToDoubleArray());
    }

    [Fact]
    public void Int32AndScalarAndEmptyTensorsRoundTrip()
    {
        using var ids = Tensor.FromArray(new[] { int.MinValue, -1, 0, 7, int.MaxValue }, 5);
        using var scalar = Tensor.Scalar(2.5);
        using var empty = Tensor.Zeros([0, 4]);
        string path = _dir.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("ids", ids), new("scalar", scalar), new("empty", empty)]);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["ids", "scalar", "empty"], file.Names);
        using (var t = file.Read("ids")) Assert.Equal(ids.ToArray<int>(), t.ToArray<int>());
        using (var t = file.Read("scalar")) { Assert.Empty(t.ShapeArray()); Assert.Equal(2.5, t.Item()); }
        using (var t = file.Read("empty")) Assert.Equal([0, 4], t.ShapeArray());
    }

    [Fact]
    public void StridedTensorsAreWrittenInRowMajorOrder()
    {
        using var matrix = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var transposed = matrix.Transpose(0, 1); // (3, 2), not contiguous
        string path = _dir.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("t", transposed)]);

        using var file = SafetensorsFile.Open(path);
        using var read = file.Read("t");
        Assert.Equal([3, 2], read.ShapeArray());
        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, read.ToArray<float>());
    }

    [Fact]
    public void ReadingConvertsBetweenFloatTypesWithRoundToNearestEven()
    {
        // 1 + 2^-8 is halfway between two bf16 values: ties go to the even one (1.0); 1 + 3·2^-8 rounds up.
        float[] values = [1f + MathF.Pow(2, -8), 1f + 3 * MathF.Pow(2, -8), -3.25f, 65504f];
        using var f32 = Tensor.FromArray(values, 4);
        string path = _dir.File("t.safetensors");
        SafetensorsWriter.Write(path, [new("x", f32)]);

        using var file = SafetensorsFile.Open(path);
        using var bf16 = file.Read("x", DType.BF16);
        Assert.Equal(DType.BF16, bf16.DType);
        Assert.Equal(values.Select(BFloat16.FromFloat).ToArray(), bf16.ToArray<ushort>());
        Assert.Equal(1.0, bf16.ToDoubleArray()[0]);
        Assert.Equal(1.0 + 4 * Math.Pow(2, -8), bf16.ToDoubleArray()[1]);

        using var f16 = file.Read("x", DType.F16);
        Assert.Equal(values.Select(v => (double)(Half)v), f16.ToDoubleArray());
        using var f64 = file.Read("x", DType.F64);
        Assert.Equal(values.Select(v => (double)v), f64.ToDoubleArray());
    }

    public static TheoryData<DType, DType> FloatPairs()
    {
        var data = new TheoryData<DType, DType>();
        DType[] floats = [DType.F32, DType.F64, DType.BF16, DType.F16];
        foreach (var from in floats)
            foreach (var to in floats)
                data.Add(from, to);
        return data;
    }

    /// <summary>Every conversion on read, the direct ones from mapped bytes included, agrees with Tensor.To.</summary>
    [Theory]
    [MemberData(nameof(FloatPairs))]
    public void ConversionOnReadMatchesTensorTo(DType from, DType to)
    {
        using var stored = Tensor.Randn([5, 37], new Random(11), std: 3.0, dtype: from);
        string path = _dir.File("t.safetensors");
        SafetensorsWriter.Write(path, [new("x", stored)]);

        using var file = SafetensorsFile.Open(path);
        using var read = file.Read("x", to);
        using var expected = stored.To(to);
        Assert.Equal(to, read.DType);
        Assert.Equal([5, 37], read.ShapeArray());
        Assert.Equal(expected.ToDoubleArray(), read.ToDoubleArray());
    }

    [Fact]
    public void BFloat16ReadsBackAsF32Exactly()
    {
        using var bf16 = Tensor.Randn([64], new Random(3), dtype: DType.BF16);
        string path = _dir.File("t.safetensors");
        SafetensorsWriter.Write(path, [new("x", bf16)]);

        using var file = SafetensorsFile.Open(path);
        using var f32 = file.Read("x", DType.F32);
        Assert.Equal(bf16.ToDoubleArray(), f32.ToDoubleArray());
    }

    [Fact]
    public void FloatDataCannotBeReadAsIntegersNorTheReverse()
    {
        using var x = Tensor.Ones([2]);
        using var ids = Tensor.FromArray(new[] { 1, 2 }, 2);
        string path = _dir.File("t.safetensors");
        SafetensorsWriter.Write(path, [new("x", x), new("ids", ids)]);

        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<CheckpointFormatException>(() => file.Read("x", DType.I32));
        Assert.Contains("'x'", e.Message);
        Assert.Contains("cannot be read as i32", e.Message);
        Assert.Throws<CheckpointFormatException>(() => file.Read("ids", DType.F32));
    }

    [Fact]
    public void MetadataIsPreserved()
    {
        using var x = Tensor.Ones([2]);
        string path = _dir.File("t.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\" {json}" };

        SafetensorsWriter.Write(path, [new("x", x)], metadata);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(metadata.OrderBy(kv => kv.Key), file.Metadata.OrderBy(kv => kv.Key));
        Assert.Equal(["x"], file.Names);
    }

    [Fact]
    public void HeaderIsPaddedToEightBytesAndTensorsFollowTheGivenOrder()
    {
        using var a = Tensor.Ones([3], DType.BF16);
        using var b = Tensor.Ones([1]);
        string path = _dir.File("t.safetensors");

        SafetensorsWriter.Write(path, [new("zeta", a), new("alpha", b)]);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(0, file.HeaderLength % 8);
        Assert.Equal(["zeta", "alpha"], file.Names);
        Assert.Equal((0L, 6L), (file.GetEntry("zeta").Begin, file.GetEntry("zeta").End));
        Assert.Equal((6L, 10L), (file.GetEntry("alpha").Begin, file.GetEntry("alpha").End));
        Assert.Equal(8 + file.HeaderLength + 10, new FileInfo(path).Length);
        // The padding is spaces after the JSON, as the reference implementation writes it.
        var bytes = File.ReadAllBytes(path);
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)file.HeaderLength);
        Assert.Equal(header.TrimEnd(' ').Length, header.TrimEnd(' ').LastIndexOf('}') + 1);
    }

    [Fact]
    public void DuplicateNamesAreRefusedBeforeAnythingIsWritten()
    {
        using var x = Tensor.Ones([1]);
        string path = _dir.File("t.safetensors");
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("x", x), new("x", x)]));
        Assert.Empty(_dir.FileNames());
    }
}

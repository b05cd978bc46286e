using System.Buffers.Binary;
using System.Text;
using TinyLlama.Kernels;
using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Tests.Checkpoints;

/// <summary>
/// Files built byte by byte from the format description, so compatibility does not rest on our own writer
/// agreeing with our own reader.
/// </summary>
public sealed class SafetensorsSpecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadsAHandBuiltFile()
    {
        // Tensors out of offset order, metadata first, whitespace in the JSON, space padding: all allowed.
        string header = """
            { "__metadata__": {"format": "pt"},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
              "a": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
              "h": {"dtype": "F16", "shape": [1], "data_offsets": [16, 18]},
              "ids": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]} }   
            """;
        var data = new byte[40];
        ushort[] bf16 = [BFloat16.FromFloat(1f), BFloat16.FromFloat(-2f), BFloat16.FromFloat(0.5f), BFloat16.FromFloat(3f)];
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), bf16[i]);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8), 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(12), -7f);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(16), (Half)0.25f);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(24), 31999);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(32), -5);
        string path = RawSafetensors.Write(_dir.File("hand.safetensors"), header, data);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["b", "a", "h", "ids"], file.Names);
        Assert.Equal("pt", file.Metadata["format"]);
        using (var a = file.Read("a")) { Assert.Equal(DType.BF16, a.DType); Assert.Equal([2, 2], a.ShapeArray()); Assert.Equal([1.0, -2.0, 0.5, 3.0], a.ToDoubleArray()); }
        using (var b = file.Read("b")) Assert.Equal(new float[] { 1.5f, -7f }, b.ToArray<float>());
        using (var h = file.Read("h")) Assert.Equal([0.25], h.ToDoubleArray());
        using (var ids = file.Read("ids")) { Assert.Equal(DType.I32, ids.DType); Assert.Equal(new[] { 31999, -5 }, ids.ToArray<int>()); }
    }

    [Fact]
    public void WriterOutputIsByteForByteTheReferenceLayout()
    {
        using var x = Tensor.FromArray(new float[] { 1f, 2f }, 2);
        string path = _dir.File("ours.safetensors");

        SafetensorsWriter.Write(path, [new("x", x)]);

        // What the reference implementation writes for {"x": tensor([1., 2.])}: compact JSON, fields in the order
        // dtype, shape, data_offsets, padded with spaces to a multiple of 8 bytes.
        string json = """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
        json += new string(' ', (8 - json.Length % 8) % 8);
        var expected = RawSafetensors.Build(json, RawSafetensors.Floats(1f, 2f));
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public void IntegerTypesWidenToInt32AndOutOfRangeValuesAreRefused()
    {
        var data = new byte[8 + 2 + 8];
        BinaryPrimitives.WriteInt64LittleEndian(data, 1L << 40);
        data[8] = 1; data[9] = 0; // BOOL [true, false]
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(10), 12345);
        string header = """{"big":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"mask":{"dtype":"BOOL","shape":[2],"data_offsets":[8,10]},"u":{"dtype":"U64","shape":[1],"data_offsets":[10,18]}}""";
        string path = RawSafetensors.Write(_dir.File("ints.safetensors"), header, data);

        using var file = SafetensorsFile.Open(path);
        using (var mask = file.Read("mask")) Assert.Equal(new[] { 1, 0 }, mask.ToArray<int>());
        using (var u = file.Read("u", DType.I32)) Assert.Equal(new[] { 12345 }, u.ToArray<int>());
        var e = Assert.Throws<CheckpointFormatException>(() => file.Read("big"));
        Assert.Contains(path, e.Message);
        Assert.Contains("'big'", e.Message);
        Assert.Contains("does not fit in i32", e.Message);
    }

    [Fact]
    public void EightBitFloatsAreValidatedButNotReadable()
    {
        string path = RawSafetensors.Write(_dir.File("f8.safetensors"),
            """{"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", new byte[4]);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("F8_E4M3", file.GetEntry("q").DTypeName);
        var e = Assert.Throws<CheckpointFormatException>(() => file.Read("q"));
        Assert.Contains("'q'", e.Message);
        Assert.Contains("cannot be read", e.Message);
    }

    [Fact]
    public void AnEmptyHeaderObjectIsAFileWithNoTensors()
    {
        string path = RawSafetensors.Write(_dir.File("empty.safetensors"), "{}      ", []);
        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Names);
        Assert.Empty(file.Metadata);
    }
}

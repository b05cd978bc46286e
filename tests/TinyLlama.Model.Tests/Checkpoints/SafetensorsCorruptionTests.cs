using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Tests.Checkpoints;

/// <summary>
/// Every way a file can be broken is refused at Open (or at Read, for a missing tensor) with a message that
/// names the file, the tensor where there is one, and the problem.
/// </summary>
public sealed class SafetensorsCorruptionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Raw(string header, int dataBytes, ulong? declaredLength = null) =>
        RawSafetensors.Write(_dir.File("bad.safetensors"), header, new byte[dataBytes], declaredLength);

    private static CheckpointFormatException Refused(string path, string? tensor, params string[] problem)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path).Dispose());
        AssertNames(e, path, tensor, problem);
        return e;
    }

    private static void AssertNames(CheckpointFormatException e, string path, string? tensor, params string[] problem)
    {
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Equal(path, e.FilePath);
        if (tensor is not null) Assert.Contains($"'{tensor}'", e.Message);
        foreach (string words in problem) Assert.Contains(words, e.Message);
    }

    private string ValidFile()
    {
        string path = _dir.File("model.safetensors");
        using var a = Tensor.Ones([4, 4]);
        using var b = Tensor.Ones([8]);
        SafetensorsWriter.Write(path, [new("a", a), new("lm_head.weight", b)]);
        return path;
    }

    private static void Truncate(string path, long length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }

    [Fact]
    public void FileTruncatedInTheDataSection()
    {
        string path = ValidFile();
        Truncate(path, new FileInfo(path).Length - 3);

        var e = Refused(path, "lm_head.weight", "run past the end of the data section", "truncated");
        Assert.Equal("lm_head.weight", e.TensorName);
    }

    [Fact]
    public void FileTruncatedInTheHeader()
    {
        string path = ValidFile();
        Truncate(path, 8 + 10);

        Refused(path, null, "exceeds the file size 18", "truncated in the header");
    }

    [Fact]
    public void FileTooShortForTheHeaderLength()
    {
        string path = ValidFile();
        Truncate(path, 5);

        Refused(path, null, "5 bytes", "too short");
    }

    [Fact]
    public void HeaderLengthBeyondTheFile()
    {
        string path = Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, declaredLength: 1000);
        long size = new FileInfo(path).Length;

        Refused(path, null, "header length 1000 exceeds the file size " + size);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(9223372036854775807UL)]
    [InlineData(100_000_001UL)]
    public void AbsurdlyLargeHeaderLength(ulong declared)
    {
        string path = Raw("{}", 0, declaredLength: declared);

        Refused(path, null, $"header length {declared} is absurdly large", "not a safetensors file");
    }

    [Fact]
    public void InvalidJson()
    {
        string path = Raw("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]""", 4);

        Refused(path, null, "not valid UTF-8 JSON");
    }

    [Fact]
    public void InvalidUtf8()
    {
        var header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8.ToArray();
        header[2] = 0xFF; // inside the tensor name
        var bytes = new byte[8 + header.Length + 4];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        string path = _dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);

        Refused(path, null, "not valid UTF-8");
    }

    [Fact]
    public void HeaderThatIsNotAnObject()
    {
        Refused(Raw("[1, 2, 3]", 0), null, "does not start with '{'");
    }

    [Fact]
    public void OffsetsOutOfRange()
    {
        string path = Raw("""{"w":{"dtype":"F32","shape":[200],"data_offsets":[0,800]}}""", 16);

        Refused(path, "w", "data_offsets [0, 800]", "past the end of the data section (16 bytes)");
    }

    [Fact]
    public void NegativeOffsets()
    {
        Refused(Raw("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 16), "w", "non-negative integers");
    }

    [Fact]
    public void ReversedOffsets()
    {
        string path = Raw("""{"lm_head.weight":{"dtype":"F32","shape":[0],"data_offsets":[10,5]}}""", 16);

        Refused(path, "lm_head.weight", "data_offsets [10, 5] are reversed");
    }

    [Fact]
    public void SizeDoesNotMatchShapeTimesDType()
    {
        string path = Raw("""{"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,24]}}""", 24);

        Refused(path, "w", "hold 24 bytes", "shape (2, 3) of BF16 needs 12 bytes");
    }

    [Fact]
    public void OverlappingTensors()
    {
        string path = Raw("""
            {"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},
             "b":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}
            """, 32);

        Refused(path, null, "tensors 'a' and 'b' overlap in bytes [16, 32)");
    }

    [Fact]
    public void TensorInsideAnotherIsAnOverlapToo()
    {
        string path = Raw("""
            {"outer":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},
             "x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},
             "y":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}
            """, 32);

        Refused(path, null, "tensors 'outer' and 'x' overlap in bytes [4, 8)");
    }

    [Fact]
    public void EmptyTensorsDoNotOverlapAnything()
    {
        string path = Raw("""
            {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
             "e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}
            """, 8);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(2, file.Names.Count);
    }

    [Fact]
    public void UnknownDType()
    {
        string path = Raw("""{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}}""", 1);

        Refused(path, "w", "unknown dtype 'Q4'");
    }

    [Fact]
    public void NegativeDimension()
    {
        Refused(Raw("""{"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}}""", 0), "w", "negative dimension");
    }

    [Fact]
    public void MissingFields()
    {
        Refused(Raw("""{"w":{"shape":[1],"data_offsets":[0,4]}}""", 4), "w", "no \"dtype\"");
        Refused(Raw("""{"w":{"dtype":"F32","data_offsets":[0,4]}}""", 4), "w", "no \"shape\"");
        Refused(Raw("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", 4), "w", "no \"data_offsets\"");
        Refused(Raw("""{"w":42}""", 0), "w", "expected an object");
    }

    [Fact]
    public void DuplicateTensorNames()
    {
        string path = Raw("""
            {"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
             "w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}
            """, 8);

        Refused(path, "w", "appears twice");
    }

    [Fact]
    public void MetadataMustMapStringsToStrings()
    {
        Refused(Raw("""{"__metadata__":{"epoch":3}}""", 0), null, "__metadata__ entry 'epoch' must be a string");
    }

    [Fact]
    public void MissingTensor()
    {
        string path = ValidFile();
        using var file = SafetensorsFile.Open(path);

        var e = Assert.Throws<CheckpointFormatException>(() => file.Read("model.norm.weight"));
        AssertNames(e, path, "model.norm.weight", "is missing");
        Assert.Equal("model.norm.weight", e.TensorName);
        Assert.False(file.Contains("model.norm.weight"));
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        string path = _dir.File("nope.safetensors");
        var e = Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
    }
}

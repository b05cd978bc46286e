using TinyLlama.Model.Checkpoints;
using TinyLlama.Tensors;

namespace TinyLlama.Model.Tests.Checkpoints;

/// <summary>A write that fails midway leaves what was there before, byte for byte, and no temporary files.</summary>
public sealed class AtomicWriteTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static IEnumerable<KeyValuePair<string, Tensor>> ThrowsAfterTheFirst(Tensor first)
    {
        yield return new("first", first);
        throw new IOException("the source went away");
    }

    [Fact]
    public void AnEnumerationThatThrowsLeavesTheOldFileUntouched()
    {
        string path = _dir.File("model.safetensors");
        using var old = Tensor.Ones([4]);
        SafetensorsWriter.Write(path, [new("old", old)]);
        var before = File.ReadAllBytes(path);

        using var first = Tensor.Zeros([1000]);
        var e = Assert.Throws<IOException>(() => SafetensorsWriter.Write(path, ThrowsAfterTheFirst(first)));

        Assert.Equal("the source went away", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], _dir.FileNames());
    }

    [Fact]
    public void ATensorThatFailsWhileItsBytesAreWrittenLeavesTheOldFileUntouched()
    {
        string path = _dir.File("model.safetensors");
        using var old = Tensor.Ones([4]);
        SafetensorsWriter.Write(path, [new("old", old)]);
        var before = File.ReadAllBytes(path);

        // The header and the first tensor are written before the second turns out to be unusable.
        using var first = Tensor.Zeros([100_000]);
        var second = Tensor.Zeros([10]);
        second.Dispose();
        Assert.Throws<ObjectDisposedException>(() => SafetensorsWriter.Write(path, [new("first", first), new("second", second)]));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], _dir.FileNames());
    }

    [Fact]
    public void AFailingShardLeavesTheOldCheckpointFolderUntouched()
    {
        using var a = Tensor.Ones([64]);
        using var b = Tensor.Ones([64]);
        using var c = Tensor.Ones([64]);
        CheckpointReader.Write(_dir.Path, [new("a", a), new("b", b), new("c", c)], maxShardBytes: 256);
        var names = _dir.FileNames();
        var contents = names.Select(n => File.ReadAllBytes(_dir.File(n))).ToList();

        var broken = Tensor.Ones([64]);
        broken.Dispose();
        Assert.Throws<ObjectDisposedException>(() =>
            CheckpointReader.Write(_dir.Path, [new("a", a), new("b", b), new("broken", broken)], maxShardBytes: 256));

        Assert.Equal(names, _dir.FileNames());
        Assert.Equal(contents, names.Select(n => File.ReadAllBytes(_dir.File(n))).ToList());
    }

    [Fact]
    public void WritingReplacesAnExistingFileCompletely()
    {
        string path = _dir.File("model.safetensors");
        using var big = Tensor.Ones([1000]);
        SafetensorsWriter.Write(path, [new("big", big)]);
        using var small = Tensor.Full([2], 3.0);

        SafetensorsWriter.Write(path, [new("small", small)]);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["small"], file.Names);
        Assert.Equal(8 + file.HeaderLength + 8, new FileInfo(path).Length);
        Assert.Equal(["model.safetensors"], _dir.FileNames());
    }
}

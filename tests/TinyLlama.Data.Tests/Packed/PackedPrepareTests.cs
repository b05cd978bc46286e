using TinyLlama.Data.Packed;

namespace TinyLlama.Data.Tests.Packed;

public class PackedPrepareTests
{
    private const int Eos = 2, Bos = 1;

    /// <summary>A stand-in tokenizer: one token per character, offset past the special ids.</summary>
    private static int[] Encode(string text) => text.Select(c => 3 + c % 250).ToArray();

    private static string WriteJsonl(TempDir dir, string name, IEnumerable<string> texts)
    {
        string path = dir.File(name);
        File.WriteAllLines(path, texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t, meta = 1 })));
        return path;
    }

    private static List<int> ReadAll(IReadOnlyList<string> files)
    {
        var all = new List<int>();
        foreach (var path in files)
        {
            using var f = PackedFile.Open(path);
            var t = new int[f.ChunkSize];
            f.ReadTokens(0, t);
            all.AddRange(t);
        }
        return all;
    }

    private static string[] Texts(int n) =>
        Enumerable.Range(0, n).Select(i => new string((char)('a' + i % 26), 3 + i % 17) + i).ToArray();

    [Fact]
    public void OutputIsTheSameForAnyWorkerCount()
    {
        using var dir = new TempDir();
        var inputs = new[] { WriteJsonl(dir, "a.jsonl", Texts(120)), WriteJsonl(dir, "b.jsonl", Texts(80).Reverse()) };
        PrepareReport Prep(int workers, string sub) => PackedPrepare.Run(inputs, Encode, new PrepareOptions
        {
            OutputDirectory = dir.File(sub), VocabSize = 256, EosId = Eos, ChunkSize = 64,
            ValidationFraction = 0.1, Workers = workers,
        });
        var one = Prep(1, "w1");
        var four = Prep(4, "w4");
        Assert.Equal(200, one.Documents);
        Assert.Equal(one.TrainFiles.Count, four.TrainFiles.Count);
        Assert.True(one.TrainFiles.Count > 5);
        Assert.NotEmpty(one.ValidationFiles);
        foreach (var (x, y) in one.TrainFiles.Concat(one.ValidationFiles).Zip(four.TrainFiles.Concat(four.ValidationFiles)))
            Assert.Equal(File.ReadAllBytes(x), File.ReadAllBytes(y));
        Assert.StartsWith("train_data_", Path.GetFileName(one.TrainFiles[0]));
        Assert.StartsWith("validation_data_", Path.GetFileName(one.ValidationFiles[0]));
    }

    [Fact]
    public void DocumentsAreSeparatedByEosAndSplitWhole()
    {
        using var dir = new TempDir();
        var texts = Texts(60);
        var input = WriteJsonl(dir, "c.jsonl", texts);
        var report = PackedPrepare.Run([input], Encode, new PrepareOptions
        {
            OutputDirectory = dir.File("out"), VocabSize = 256, EosId = Eos, BosId = Bos, ChunkSize = 16,
            ValidationFraction = 0.25, KeepRemainder = true,
        });
        var trainDocs = Split(ReadAll(report.TrainFiles));
        var validDocs = Split(ReadAll(report.ValidationFiles));
        var expected = texts.Select(t => string.Join(",", Encode(t))).ToList();
        // every document lands whole in exactly one split, in input order
        Assert.Equal(expected.Order(), trainDocs.Concat(validDocs).Order());
        Assert.InRange(validDocs.Count, 5, 25);
        Assert.Equal(report.TrainTokens + report.ValidationTokens, expected.Sum(d => d.Split(',').Length + 2));
    }

    /// <summary>Splits a stream of BOS doc EOS … (then EOS padding) into documents.</summary>
    private static List<string> Split(List<int> stream)
    {
        var docs = new List<string>();
        int i = 0;
        while (i < stream.Count && stream[i] == Bos)
        {
            int end = stream.IndexOf(Eos, i);
            docs.Add(string.Join(",", stream.GetRange(i + 1, end - i - 1)));
            i = end + 1;
        }
        Assert.All(stream.Skip(i), t => Assert.Equal(Eos, t)); // only EOS padding after the last document
        return docs;
    }

    [Fact]
    public void TailSplitHoldsOutTheEndOfASingleText()
    {
        using var dir = new TempDir();
        string path = dir.File("tiny.txt");
        string text = string.Concat(Enumerable.Range(0, 100).Select(i => (char)('a' + i % 26)));
        File.WriteAllText(path, text);
        var report = PackedPrepare.Run([path], Encode, new PrepareOptions
        {
            OutputDirectory = dir.File("out"), VocabSize = 256, EosId = Eos, ChunkSize = 32,
            ValidationFraction = 0.1, SplitBy = ValidationSplit.Tail, KeepRemainder = true,
        });
        Assert.Equal(1, report.Documents);
        Assert.Equal(91, report.TrainTokens);     // 90 characters + EOS
        Assert.Equal(11, report.ValidationTokens); // 10 characters + EOS
        Assert.Equal(Encode(text[90..]).Append(Eos), ReadAll(report.ValidationFiles).Take(11));
    }

    [Fact]
    public void MissingOrEmptyInputsAreClearErrors()
    {
        using var dir = new TempDir();
        var opts = new PrepareOptions { OutputDirectory = dir.File("out"), VocabSize = 256, EosId = Eos, ChunkSize = 8 };
        Assert.Throws<ArgumentException>(() => PackedPrepare.Run([], Encode, opts));
        Assert.Throws<FileNotFoundException>(() => PackedPrepare.Run([dir.File("none.txt")], Encode, opts));
        File.WriteAllText(dir.File("empty.jsonl"), "\n\n");
        Assert.Contains("hold no documents",
            Assert.Throws<InvalidDataException>(() => PackedPrepare.Run([dir.File("empty.jsonl")], Encode, opts)).Message);
        File.WriteAllText(dir.File("bad.jsonl"), "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
        Assert.Contains("bad.jsonl' line 2: expected an object with a string field \"text\"",
            Assert.Throws<InvalidDataException>(() => PackedPrepare.Run([dir.File("bad.jsonl")], Encode, opts)).Message);
        File.WriteAllText(dir.File("short.txt"), "abc");
        Assert.Contains("the training split has 4 tokens, fewer than one chunk of 8",
            Assert.Throws<InvalidDataException>(() => PackedPrepare.Run([dir.File("short.txt")], Encode, opts)).Message);
        File.WriteAllText(dir.File("x.jsonl.zst"), "");
        Assert.Contains("is compressed",
            Assert.Throws<InvalidDataException>(() => PackedPrepare.Run([dir.File("x.jsonl.zst")], Encode, opts)).Message);
    }

    [Fact]
    public void RefusesToWriteOverEarlierOutput()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("t.txt"), new string('x', 40));
        var opts = new PrepareOptions { OutputDirectory = dir.File("out"), VocabSize = 256, EosId = Eos, ChunkSize = 8 };
        PackedPrepare.Run([dir.File("t.txt")], Encode, opts);
        Assert.Contains("already exists", Assert.Throws<IOException>(() => PackedPrepare.Run([dir.File("t.txt")], Encode, opts)).Message);
    }
}

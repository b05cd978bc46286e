using TinyLlama.Data.Corpus;
using TinyLlama.Data.TokenizerTraining;

namespace TinyLlama.Data.Tests.TokenizerTraining;

/// <summary>
/// The `tiny` preset's vocabulary size trained on the first 60 training chapters: big enough to be realistic,
/// quick enough to train once per test run and share. hf-encodings.json was made from exactly this configuration.
/// </summary>
internal static class CorpusVocabulary
{
    public const int VocabSize = 4096;

    private static readonly Lazy<BpeVocabulary> Shared = new(Train);

    public static BpeVocabulary Value => Shared.Value;

    public static BpeVocabulary Train() =>
        BpeTrainer.Train(EmbeddedCorpus.Documents(CorpusSplit.Train), VocabSize, new BpeTrainerOptions { MaxDocuments = 60 });
}

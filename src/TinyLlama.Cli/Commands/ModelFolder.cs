using TinyLlama.Data.Tokenizer;
using TinyLlama.Model;

namespace TinyLlama.Cli.Commands;

/// <summary>A Hugging Face model folder opened for inference: the model and its tokenizer, checked against each other.</summary>
internal sealed class ModelFolder : IDisposable
{
    private ModelFolder(LlamaForCausalLM model, LlamaTokenizer tokenizer) => (Model, Tokenizer) = (model, tokenizer);

    public LlamaForCausalLM Model { get; }

    public LlamaTokenizer Tokenizer { get; }

    /// <summary>Loads config.json + weights from <paramref name="folder"/>; the tokenizer from <paramref name="tokenizerPath"/> or the folder.</summary>
    public static ModelFolder Open(string folder, string? tokenizerPath)
    {
        var tokenizer = LlamaTokenizer.Load(tokenizerPath ?? folder);
        var model = HfCheckpoint.Load(folder);
        if (tokenizer.VocabSize > model.Config.VocabSize)
        {
            model.Dispose();
            throw new InvalidDataException(
                $"{tokenizerPath ?? folder}: the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {model.Config.VocabSize}");
        }
        return new ModelFolder(model, tokenizer);
    }

    public void Dispose() => Model.Dispose();
}

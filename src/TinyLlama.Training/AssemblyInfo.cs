namespace TinyLlama.Training;

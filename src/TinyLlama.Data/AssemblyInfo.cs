namespace TinyLlama.Data;

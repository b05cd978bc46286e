namespace TinyLlama.Model;

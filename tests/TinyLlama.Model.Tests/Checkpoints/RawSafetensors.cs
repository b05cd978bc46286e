using System.Buffers.Binary;
using System.Text;

namespace TinyLlama.Model.Tests.Checkpoints;

/// <summary>
/// Builds safetensors files byte by byte, independently of our writer: the header is a JSON string written by
/// hand, so tests check the reader against the format itself, and can build every kind of broken file.
/// </summary>
internal static class RawSafetensors
{
    /// <param name="declaredLength">The u64 written in front; by default the true header length.</param>
    public static byte[] Build(string headerJson, byte[] data, ulong? declaredLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    public static string Write(string path, string headerJson, byte[] data, ulong? declaredLength = null)
    {
        File.WriteAllBytes(path, Build(headerJson, data, declaredLength));
        return path;
    }

    public static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }
}

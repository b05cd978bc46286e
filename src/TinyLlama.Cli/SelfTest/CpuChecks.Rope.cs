using TinyLlama.Kernels;

namespace TinyLlama.Cli.SelfTest;

internal static partial class CpuChecks
{
    /// <summary>Llama-2's RoPE base.</summary>
    private const double RopeTheta = 10000.0;

    private delegate void RopeFunction(ReadOnlySpan<float> x, Span<float> y, int batch, int seqLen, int heads, int headSize,
        ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, int startPos);

    private static IEnumerable<KernelCheck> RopeChecks(SelfTestShapes shapes, int seed)
    {
        yield return RopeCheck(shapes, seed, "rope forward", Rope.Forward, Rope.ForwardReference, inPlace: false);
        yield return RopeCheck(shapes, seed, "rope backward", Rope.Backward, Rope.BackwardReference, inPlace: false);
        // The model rotates q and k in place; the contract allows y to alias x, so that path is checked too.
        yield return RopeCheck(shapes, seed, "rope forward in place", Rope.Forward, Rope.ForwardReference, inPlace: true);
    }

    private static KernelCheck RopeCheck(SelfTestShapes shapes, int seed, string op, RopeFunction fast, RopeFunction reference,
        bool inPlace)
    {
        var (b, t, h, hs, startPos) = shapes.Rope;
        var x = new RandomData(seed, op).Uniform(b * t * h * hs); // (B, T, H, Hs)
        // Positions start past 0 (as when decoding with a KV cache), so the table offset is exercised too.
        int maxT = startPos + t;
        // The tables are computed in double by one routine that both versions share; built on first use only.
        var tables = new Lazy<(float[] Cos, float[] Sin)>(() =>
        {
            var cos = new float[maxT * hs / 2]; // (maxT, Hs/2)
            var sin = new float[maxT * hs / 2];
            Rope.Tables<float>(maxT, hs, RopeTheta, cos, sin);
            return (cos, sin);
        });

        IReadOnlyList<float[]> Run(RopeFunction rope, bool aliased)
        {
            var y = aliased ? (float[])x.Clone() : RandomData.Poisoned(x.Length);
            rope(aliased ? y : x, y, b, t, h, hs, tables.Value.Cos, tables.Value.Sin, startPos);
            return [y];
        }
        // The reference always runs out of place: it is the definition the aliased fast run must reproduce.
        return new KernelCheck(op, $"B={b} T={t} H={h} Hs={hs} pos0={startPos}", Tolerances.Elementwise,
            () => Run(fast, inPlace), () => Run(reference, aliased: false));
    }
}

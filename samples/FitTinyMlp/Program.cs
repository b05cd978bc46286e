// Fits y = sin(3x) on [-1, 1] with a two-layer MLP, using only the tensor library's autograd API:
// forward with ops, Backward() from a scalar loss, then an Adam update of each parameter written with tensor ops.
//   dotnet run --project samples/FitTinyMlp
using TinyLlama.Tensors;
using TinyLlama.Tensors.Modules;

const int batch = 256, hidden = 64, steps = 400;
const double learningRate = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
var rng = new Random(1234);

using var hiddenLayer = new Linear(1, hidden, bias: true, rng: rng);
using var outputLayer = new Linear(hidden, 1, bias: true, rng: rng);
var parameters = hiddenLayer.Parameters().Concat(outputLayer.Parameters()).ToList();
// Adam's running moments, one pair per parameter.
var m = parameters.Select(Tensor.ZerosLike).ToList();
var v = parameters.Select(Tensor.ZerosLike).ToList();

for (int step = 1; step <= steps; step++)
{
    // One scope per step frees every activation and gradient buffer of the step at its end.
    using var scope = new TensorScope();
    var x = Tensor.Rand([batch, 1], rng, -1, 1);
    var y = Target(x);

    var prediction = outputLayer.Forward(Functional.Silu(hiddenLayer.Forward(x)));
    var loss = (prediction - y).Square().Mean();

    foreach (var p in parameters) p.ZeroGrad();
    loss.Backward();
    using (GradMode.NoGrad())
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            var g = parameters[i].Grad!;
            // m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g² ;  p ← p − lr·m̂ / (√v̂ + ε)
            m[i].AddInPlace(m[i] * (beta1 - 1) + g * (1 - beta1));
            v[i].AddInPlace(v[i] * (beta2 - 1) + g.Square() * (1 - beta2));
            var mHat = m[i] / (1 - Math.Pow(beta1, step));
            var vHat = v[i] / (1 - Math.Pow(beta2, step));
            parameters[i].AddInPlace(mHat / (vHat.Sqrt() + eps) * -learningRate);
        }
    }

    if (step == 1 || step % 50 == 0) Console.WriteLine($"step {step,4}  loss {loss.Item():F5}");
}

foreach (var t in m.Concat(v)) t.Dispose();

static Tensor Target(Tensor x)
{
    var values = x.ToDoubleArray().Select(v => Math.Sin(3 * v)).ToArray();
    return Tensor.FromDoubles(values, x.ShapeArray());
}

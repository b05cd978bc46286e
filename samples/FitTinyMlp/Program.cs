// Fits y = sin(3x) · x on [-1, 1] with a two-layer MLP, using only the tensor library's autograd API:
// forward with ops, Backward() from a scalar loss, then a plain SGD update of each parameter's data.
//   dotnet run --project samples/FitTinyMlp
using TinyLlama.Tensors;
using TinyLlama.Tensors.Modules;

const int batch = 256, hidden = 64, steps = 600;
const double learningRate = 0.1;
var rng = new Random(1234);

using var hiddenLayer = new Linear(1, hidden, bias: true, rng: rng);
using var outputLayer = new Linear(hidden, 1, bias: true, rng: rng);
var parameters = hiddenLayer.Parameters().Concat(outputLayer.Parameters()).ToList();

for (int step = 0; step <= steps; step++)
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
        foreach (var p in parameters)
            p.AddInPlace(p.Grad! * -learningRate);

    if (step % 100 == 0) Console.WriteLine($"step {step,4}  loss {loss.Item():F5}");
}

static Tensor Target(Tensor x)
{
    var values = x.ToDoubleArray().Select(v => Math.Sin(3 * v) * v).ToArray();
    return Tensor.FromDoubles(values, x.ShapeArray());
}

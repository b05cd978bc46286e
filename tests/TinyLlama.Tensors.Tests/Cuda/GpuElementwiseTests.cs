namespace TinyLlama.Tensors.Tests.Cuda;

/// <summary>
/// Elementwise arithmetic on the simulated cuda device, forward and backward, against the CPU ops: broadcasting, strided
/// operands, scalars, the elementwise functions, and in-place accumulation.
/// </summary>
[Collection(SimulatedGpuCollection.Name)]
public class GpuElementwiseTests(SimulatedGpuFixture gpu)
{
    static readonly Device Cuda = SimulatedGpuFixture.Cuda;

    static Tensor Randn(int[] shape, int seed) => Tensor.Randn(shape, new Random(seed), std: 1.5);

    // Divisors and the inputs of log and sqrt: away from 0, both signs where the op allows.
    static Tensor Positive(int[] shape, int seed) => Tensor.Rand(shape, new Random(seed), low: 0.5, high: 2.0);

    static Tensor Apply(string op, Tensor a, Tensor b) => op switch
    {
        "add" => a + b,
        "sub" => a - b,
        "mul" => a * b,
        _ => a / b,
    };

    public static TheoryData<string, DType> BinaryCases()
    {
        var data = new TheoryData<string, DType>();
        foreach (var op in new[] { "add", "sub", "mul", "div" })
        foreach (var dtype in new[] { DType.F32, DType.BF16 })
            data.Add(op, dtype);
        return data;
    }

    [Theory, MemberData(nameof(BinaryCases))]
    public void BinaryOpsMatchTheCpu(string op, DType dtype)
    {
        Assert.NotNull(gpu.Device);
        using var a = Randn([3, 37], 1);
        using var b = op == "div" ? Positive([3, 37], 2) : Randn([3, 37], 2);
        GpuOpCheck.Matches(t => Apply(op, t[0], t[1]), dtype, seed: 3, a, b);
    }

    public static TheoryData<string, int[], int[], DType> BroadcastCases()
    {
        var data = new TheoryData<string, int[], int[], DType>();
        foreach (var dtype in new[] { DType.F32, DType.BF16 })
        {
            data.Add("add", [2, 3, 8], [8], dtype);        // a bias (C) on (B, T, C)
            data.Add("mul", [2, 1, 8], [2, 3, 8], dtype);  // (B, 1, C) · (B, T, C)
            data.Add("sub", [3, 1], [2, 3, 8], dtype);     // both operands broadcast, ranks differ
            data.Add("div", [2, 3, 8], [3, 1], dtype);     // a middle-axis divisor: the backward sums axes 0 and 2
            data.Add("mul", [4, 5], [], dtype);            // a scalar tensor
        }
        return data;
    }

    [Theory, MemberData(nameof(BroadcastCases))]
    public void BroadcastingMatchesTheCpuForwardAndBackward(string op, int[] aShape, int[] bShape, DType dtype)
    {
        using var a = Randn(aShape, 4);
        using var b = op == "div" ? Positive(bShape, 5) : Randn(bShape, 5);
        GpuOpCheck.Matches(t => Apply(op, t[0], t[1]), dtype, seed: 6, a, b);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void StridedOperandsAreReadInPlace(DType dtype)
    {
        using var a = Randn([8, 5], 7);
        using var b = Randn([5, 8], 8);
        using var c = Randn([3, 8, 6], 9);
        // A transposed operand against a contiguous one, and a permuted one broadcast against a transposed one.
        GpuOpCheck.Matches(t => t[0].Transpose() * t[1], dtype, seed: 10, a, b);
        using var d = Randn([8, 6], 27);
        GpuOpCheck.Matches(t => t[1].Transpose() - t[0].Permute(0, 2, 1), dtype, seed: 11, c, d); // (6, 8) − (3, 6, 8)

        // Views with an offset into their storage (forward only: a narrow's backward is not a GPU op yet).
        using var onGpu = GpuOpCheck.ToDevice(c, dtype, Cuda);
        using var x = onGpu.Permute(2, 0, 1).Narrow(0, 2, 3);   // (3, 3, 8) strided, offset 2
        using var y = onGpu.Narrow(1, 4, 1);                    // (3, 1, 6) strided, offset 24
        using var yt = y.Permute(0, 2, 1);                      // (3, 6, 1), broadcast along the last axis
        using var sum = x + yt.Narrow(1, 3, 3);             // (3, 3, 8)
        using var cpuX = c.Permute(2, 0, 1).Narrow(0, 2, 3);
        using var cpuY = c.Narrow(1, 4, 1).Permute(0, 2, 1).Narrow(1, 3, 3);
        using var expected = cpuX + cpuY;
        GpuOpCheck.AssertClose("offset views", expected, sum, dtype);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void ScalarsAndNegationMatchTheCpu(DType dtype)
    {
        using var a = Randn([4, 33], 12);
        GpuOpCheck.Matches(t => (2.5 * t[0] + 1.0 - 0.25) / 4.0, dtype, seed: 13, a);
        GpuOpCheck.Matches(t => -t[0].Transpose(), dtype, seed: 14, a);
        GpuOpCheck.Matches(t => t[0].Scale(-3.0).AddScalar(0.5), dtype, seed: 15, a);
    }

    [Fact]
    public void AScalarOpUploadsNothing()
    {
        using var a = Randn([64], 16).To(Cuda);
        using var warm = a * 2.0; // the kernel is loaded outside the measured span
        long uploaded = gpu.Device.Transfers.BytesUploaded;
        using var b = (a * 3.0 + 1.0 - 2.0) / 5.0;
        using var n = -b;
        Assert.Equal(uploaded, gpu.Device.Transfers.BytesUploaded);
        var expected = a.ToArray<float>().Select(v => -((v * 3f + 1f - 2f) * 0.2f)).ToArray();
        var actual = n.ToArray<float>();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
    }

    [Theory]
    [InlineData("exp", DType.F32)]
    [InlineData("log", DType.F32)]
    [InlineData("square", DType.F32)]
    [InlineData("sqrt", DType.F32)]
    [InlineData("exp", DType.BF16)]
    [InlineData("log", DType.BF16)]
    [InlineData("square", DType.BF16)]
    [InlineData("sqrt", DType.BF16)]
    public void ElementwiseFunctionsMatchTheCpu(string op, DType dtype)
    {
        using var x = op is "log" or "sqrt" ? Positive([3, 29], 17) : Randn([3, 29], 17);
        Func<Tensor, Tensor> f = op switch
        {
            "exp" => t => t.Exp(),
            "log" => t => t.Log(),
            "square" => t => t.Square(),
            _ => t => t.Sqrt(),
        };
        GpuOpCheck.Matches(t => f(t[0]), dtype, seed: 18, x);
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void AddInPlaceAccumulatesOnTheDevice(DType dtype)
    {
        using var a = Randn([2, 3, 8], 19);
        using var bias = Randn([8], 20);
        using var expected = a + bias;
        using var target = GpuOpCheck.ToDevice(a, dtype, Cuda);
        using var addend = GpuOpCheck.ToDevice(bias, dtype, Cuda);
        long requests = gpu.Device.Memory.Statistics.Requests;
        target.AddInPlace(addend);
        Assert.Equal(requests, gpu.Device.Memory.Statistics.Requests); // in place: no new tensor
        GpuOpCheck.AssertClose("a += bias", expected, target, dtype);

        // Adding a tensor to itself reads each element before writing it.
        using var twice = expected * 2.0;
        target.AddInPlace(target);
        GpuOpCheck.AssertClose("a += a", twice, target, dtype);

        // A strided addend (a transposed view) is read in place.
        using var square = Randn([6, 6], 21);
        using var squareT = square.Transpose().Contiguous();
        using var sum = square + squareT;
        using var onGpu = GpuOpCheck.ToDevice(square, dtype, Cuda);
        using var other = GpuOpCheck.ToDevice(square, dtype, Cuda);
        using var transposed = other.Transpose();
        onGpu.AddInPlace(transposed);
        GpuOpCheck.AssertClose("a += b.T", sum, onGpu, dtype);
    }

    [Fact]
    public void AddInPlaceRefusesAStridedDestinationAndABiggerAddend()
    {
        using var a = Randn([4, 6], 22).To(Cuda);
        using var b = Randn([6, 4], 23).To(Cuda);
        using var view = a.Transpose();
        var strided = Assert.Throws<NotSupportedException>(() => view.AddInPlace(b));
        Assert.Contains("add_", strided.Message);
        Assert.Contains("contiguous", strided.Message);
        using var big = Randn([2, 4, 6], 24).To(Cuda);
        Assert.Contains("cannot be added in place", Assert.Throws<ArgumentException>(() => a.AddInPlace(big)).Message);
    }

    [Fact]
    public void MixedDevicesAreRefusedNamingBoth()
    {
        using var onGpu = Randn([3, 4], 25).To(Cuda);
        using var onCpu = Randn([3, 4], 26);
        foreach (var run in new Action[] { () => _ = onGpu + onCpu, () => _ = onCpu * onGpu, () => onGpu.AddInPlace(onCpu) })
        {
            var error = Assert.Throws<ArgumentException>(run);
            Assert.Contains("cuda:0", error.Message);
            Assert.Contains("cpu", error.Message);
            Assert.Contains("expected all on one device", error.Message);
        }
        using var f64 = Tensor.Ones([3, 4], DType.F64, Cuda);
        var dtype = Assert.Throws<ArgumentException>(() => _ = f64 + f64);
        Assert.Contains("dtype f64 is not supported on cuda:0", dtype.Message);
    }
}

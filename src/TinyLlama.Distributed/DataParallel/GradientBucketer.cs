using TinyLlama.Tensors;
using TinyLlama.Training.Parallel;

namespace TinyLlama.Distributed.DataParallel;

/// <summary>
/// Averages gradients over the ranks while backward runs, as PyTorch DDP's reducer does. Each bucket of the
/// <see cref="BucketPlan"/> is one flat f32 buffer: the gradients of its parameters, then one "had a gradient" flag
/// per parameter. A hook on every parameter copies its gradient in once it is final; when a bucket's last
/// parameter is in, the bucket goes to the <see cref="BucketReducer"/> thread, which averages it over the ranks
/// while backward goes on with the earlier layers. <see cref="FinishBackward"/> fills in the parameters no gradient
/// reached (zeros, flag 0), waits for the last buckets and copies the averages back into .Grad.
/// <para>Parameters on a GPU take the same path through host memory: each final gradient is downloaded into its
/// bucket (the download waits for the GPU to finish that gradient, so on a GPU the training thread pauses at each
/// hook) and the averages are uploaded at the end.</para>
/// <para>The flags are averaged with the gradients, so after the reduction a flag is non-zero exactly when some rank
/// had a gradient for that parameter: such a parameter gets the average on every rank (a rank without one counts
/// zeros), and a parameter no rank touched keeps no gradient anywhere, as in a single process, where the optimizer
/// skips it.</para>
/// </summary>
public sealed class GradientBucketer : IGradientSync
{
    private readonly Tensor[] _parameters;
    private readonly string[] _names;
    private readonly Dictionary<Tensor, int> _index = new(ReferenceEqualityComparer.Instance);
    private readonly float[][] _buffers;
    private readonly int[] _missing;   // per bucket: parameters not copied in yet this round
    private readonly bool[] _copied;   // per parameter
    private readonly IDisposable[] _hooks;
    private readonly BucketReducer _reducer;
    private bool _inBackward, _synchronizing;

    public GradientBucketer(IProcessGroup group, IReadOnlyList<(string Name, Tensor Parameter)> parameters, long bucketBytes = BucketPlan.DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(group);
        _parameters = parameters.Select(p => p.Parameter).ToArray();
        _names = parameters.Select(p => p.Name).ToArray();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (p.DType != DType.F32 || !p.RequiresGrad || !p.IsLeaf)
                throw new ArgumentException($"gradient sync: parameter '{_names[i]}' must be an f32 leaf that requires grad");
            if (!_index.TryAdd(p, i)) throw new ArgumentException($"gradient sync: parameter '{_names[i]}' is listed twice");
        }
        Plan = BucketPlan.Build(_parameters.Select(p => p.Numel).ToArray(), bucketBytes);
        _buffers = Plan.Buckets.Select(b => new float[b.Elements + b.Slots.Count]).ToArray();
        _missing = new int[_buffers.Length];
        _copied = new bool[_parameters.Length];
        _reducer = new BucketReducer(group, _buffers);
        _hooks = _parameters.Select(p => p.RegisterPostAccumulateGradHook(OnGradientFinal)).ToArray();
    }

    public BucketPlan Plan { get; }

    /// <summary>Seconds the last synchronized step spent inside all-reduce calls (on the communication thread).</summary>
    public double LastReduceSeconds => _reducer.LastRoundReduceSeconds;

    /// <summary>How many buckets were handed to the communication thread by gradient hooks, before backward ended.</summary>
    public int LastBucketsReadyDuringBackward { get; private set; }

    public void BeginBackward(bool synchronize)
    {
        if (_inBackward) throw new InvalidOperationException("gradient sync: BeginBackward twice without FinishBackward");
        _inBackward = true;
        _synchronizing = synchronize;
        if (!synchronize) return;
        for (int b = 0; b < _missing.Length; b++) _missing[b] = Plan.Buckets[b].Slots.Count;
        Array.Clear(_copied);
        LastBucketsReadyDuringBackward = 0;
        _reducer.StartRound();
    }

    public void FinishBackward()
    {
        if (!_inBackward) throw new InvalidOperationException("gradient sync: FinishBackward without BeginBackward");
        _inBackward = false;
        if (!_synchronizing) return;
        _synchronizing = false;
        // Parameters whose hook did not fire: no gradient reached them in this backward (an earlier micro-step may
        // have left one in .Grad). Bucket order, so the reducer can start on the first of them at once.
        foreach (var bucket in Plan.Buckets)
            foreach (var slot in bucket.Slots)
                if (!_copied[slot.Parameter]) CopyIn(slot.Parameter);
        _reducer.WaitRound();
        CopyOut();
    }

    private void OnGradientFinal(Tensor parameter)
    {
        if (!_synchronizing) return;
        int i = _index[parameter];
        if (_copied[i])
            throw new InvalidOperationException($"gradient sync: '{_names[i]}' got a final gradient twice in one synchronized step (one backward per micro-step)");
        CopyIn(i);
    }

    private void CopyIn(int parameter)
    {
        var slot = Plan.SlotOf(parameter);
        var buffer = _buffers[slot.Bucket];
        var target = buffer.AsSpan(slot.Offset, slot.Length);
        int flag = Plan.Buckets[slot.Bucket].Elements + slot.Position;
        if (_parameters[parameter].Grad is { } grad)
        {
            grad.CopyTo(target); // a GPU gradient is downloaded: the all-reduce works on host memory
            buffer[flag] = 1;
        }
        else
        {
            target.Clear();
            buffer[flag] = 0;
        }
        _copied[parameter] = true;
        if (--_missing[slot.Bucket] == 0)
        {
            if (_inBackward) LastBucketsReadyDuringBackward++;
            _reducer.MarkReady(slot.Bucket);
        }
    }

    private void CopyOut()
    {
        foreach (var bucket in Plan.Buckets)
        {
            var buffer = _buffers[bucket.Index];
            for (int k = 0; k < bucket.Slots.Count; k++)
            {
                var slot = bucket.Slots[k];
                var p = _parameters[slot.Parameter];
                if (buffer[bucket.Elements + k] == 0) continue; // no rank had a gradient: none anywhere
                if (p.Grad is null)
                {
                    var zeros = Tensor.Zeros(p.ShapeArray(), DType.F32, p.Device);
                    TensorScope.Untrack(zeros);
                    p.Grad = zeros;
                }
                p.Grad.CopyFrom<float>(buffer.AsSpan(slot.Offset, slot.Length)); // uploaded again for a GPU parameter
            }
        }
    }

    /// <summary>For logs: "gradients averaged in 2 buckets of 25.0, 3.1 MiB".</summary>
    public override string ToString() => $"gradients averaged in {Plan}";

    public void Dispose()
    {
        foreach (var hook in _hooks) hook.Dispose();
        _reducer.Dispose();
    }
}

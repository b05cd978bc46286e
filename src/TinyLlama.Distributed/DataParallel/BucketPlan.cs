namespace TinyLlama.Distributed.DataParallel;

/// <summary>
/// Where one parameter's gradient sits: elements [Offset, Offset + Length) of bucket <see cref="Bucket"/>, where it
/// is the <see cref="Position"/>-th parameter.
/// </summary>
public readonly record struct BucketSlot(int Parameter, int Bucket, int Position, int Offset, int Length);

/// <summary>One bucket: its parameters (indices in registration order, in the order they were put in) and size.</summary>
public sealed record GradientBucket(int Index, IReadOnlyList<BucketSlot> Slots, int Elements)
{
    public long Bytes => Elements * (long)sizeof(float);
}

/// <summary>
/// How gradients are grouped into buckets, as PyTorch DDP does: parameters in reverse registration order (backward
/// finishes the last layers' gradients first, so the first buckets fill first and their all-reduce starts while the
/// earlier layers are still differentiated), a bucket closed once it holds at least the cap. It depends only on the
/// parameters' sizes and the cap, so every rank computes the same plan and reduces the same buckets in the same order.
/// </summary>
public sealed class BucketPlan
{
    /// <summary>DDP's default bucket_cap_mb = 25, in MiB as PyTorch counts it.</summary>
    public const long DefaultBucketBytes = 25L * 1024 * 1024;

    private readonly BucketSlot[] _slotOf;

    private BucketPlan(IReadOnlyList<GradientBucket> buckets, BucketSlot[] slotOf)
    {
        Buckets = buckets;
        _slotOf = slotOf;
    }

    public IReadOnlyList<GradientBucket> Buckets { get; }

    /// <summary>The slot of parameter <paramref name="parameter"/> (its index in registration order).</summary>
    public BucketSlot SlotOf(int parameter) => _slotOf[parameter];

    /// <param name="elements">Each parameter's element count, in registration order.</param>
    /// <param name="capBytes">A bucket is closed once its f32 gradients reach this many bytes.</param>
    public static BucketPlan Build(IReadOnlyList<long> elements, long capBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(elements);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capBytes);
        var buckets = new List<GradientBucket>();
        var slotOf = new BucketSlot[elements.Count];
        var current = new List<BucketSlot>();
        long size = 0;
        void Close()
        {
            if (current.Count == 0) return;
            buckets.Add(new GradientBucket(buckets.Count, current.ToArray(), (int)size));
            current.Clear();
            size = 0;
        }
        for (int p = elements.Count - 1; p >= 0; p--)
        {
            long n = elements[p];
            if (n <= 0) throw new ArgumentException($"parameter {p} has {n} elements", nameof(elements));
            // A bucket is one flat f32 buffer handed to the process group as a Span: its length must fit an int.
            if (size + n > Array.MaxLength)
            {
                if (n > Array.MaxLength) throw new ArgumentException($"parameter {p} has {n} elements; a bucket holds at most {Array.MaxLength}", nameof(elements));
                Close();
            }
            var slot = new BucketSlot(p, buckets.Count, current.Count, (int)size, (int)n);
            current.Add(slot);
            slotOf[p] = slot;
            size += n;
            if (size * sizeof(float) >= capBytes) Close();
        }
        Close();
        return new BucketPlan(buckets, slotOf);
    }

    /// <summary>A one-line description for logs: "3 buckets of 24.0, 25.1, 3.2 MiB".</summary>
    public override string ToString() =>
        $"{Buckets.Count} bucket{(Buckets.Count == 1 ? "" : "s")} of {string.Join(", ", Buckets.Select(b => (b.Bytes / 1048576.0).ToString("0.0##", System.Globalization.CultureInfo.InvariantCulture)))} MiB";
}

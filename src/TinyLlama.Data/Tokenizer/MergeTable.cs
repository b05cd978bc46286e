using System.Numerics;

namespace TinyLlama.Data.Tokenizer;

/// <summary>One BPE merge rule: the adjacent pair (<see cref="Left"/>, <see cref="Right"/>) becomes <see cref="Result"/>.</summary>
/// <param name="Priority">Lower merges first. tokenizer.json: the rule's line in <c>merges</c>; tokenizer.model: the rank
/// of the merged piece's score, highest score first, so every split of one piece shares a priority.</param>
public readonly record struct MergeRule(int Left, int Right, int Result, int Priority);

/// <summary>
/// The merge rules keyed by the pair of ids, so the encoder asks "can these two neighbours merge, and how urgently?"
/// in one hash lookup instead of concatenating strings. It is the encoder's hottest lookup (one per new neighbour
/// pair), hence an open-addressing table of 16-byte slots: one probe usually touches one cache line.
/// </summary>
internal sealed class MergeTable
{
    const long Empty = -1; // ids are non-negative, so no real key is -1

    struct Slot
    {
        public long Key;
        public int Result;
        public int Priority;
    }

    readonly Slot[] slots;
    readonly int shift; // 64 - log2(capacity), for Fibonacci hashing

    public MergeTable(IEnumerable<MergeRule> merges)
    {
        var rules = merges.ToList();
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, rules.Count * 2)); // load ≤ 1/2
        shift = 64 - BitOperations.Log2((uint)capacity);
        slots = new Slot[capacity];
        for (int i = 0; i < slots.Length; i++) slots[i].Key = Empty;
        foreach (var rule in rules)
        {
            long key = Key(rule.Left, rule.Right);
            int index = Find(key);
            // tokenizer.json may list a pair twice; the first (highest priority) line is the one that can ever fire.
            if (slots[index].Key == key) continue;
            slots[index] = new Slot { Key = key, Result = rule.Result, Priority = rule.Priority };
            Count++;
        }
    }

    public int Count { get; }

    public bool TryGet(int left, int right, out int result, out int priority)
    {
        ref readonly var slot = ref slots[Find(Key(left, right))];
        bool found = slot.Key != Empty;
        (result, priority) = found ? (slot.Result, slot.Priority) : (-1, 0);
        return found;
    }

    /// <summary>All rules, best first (ties by ids, so the order is deterministic).</summary>
    public IEnumerable<MergeRule> InPriorityOrder()
        => slots.Where(s => s.Key != Empty)
            .Select(s => new MergeRule((int)(s.Key >> 32), (int)s.Key, s.Result, s.Priority))
            .OrderBy(r => r.Priority).ThenBy(r => r.Result).ThenBy(r => r.Left);

    // The slot holding key, or the empty slot where it would go (linear probing; the table is never full).
    int Find(long key)
    {
        int mask = slots.Length - 1;
        int index = (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> shift);
        while (slots[index].Key != key && slots[index].Key != Empty) index = (index + 1) & mask;
        return index;
    }

    static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}

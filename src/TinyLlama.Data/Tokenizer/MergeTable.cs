namespace TinyLlama.Data.Tokenizer;

/// <summary>One BPE merge rule: the adjacent pair (<see cref="Left"/>, <see cref="Right"/>) becomes <see cref="Result"/>.</summary>
/// <param name="Priority">Lower merges first. tokenizer.json: the rule's line in <c>merges</c>; tokenizer.model: the rank
/// of the merged piece's score, highest score first, so every split of one piece shares a priority.</param>
public readonly record struct MergeRule(int Left, int Right, int Result, int Priority);

/// <summary>
/// The merge rules keyed by the pair of ids, so the encoder asks "can these two neighbours merge, and how urgently?"
/// in one hash lookup instead of concatenating strings.
/// </summary>
internal sealed class MergeTable
{
    readonly Dictionary<long, (int Result, int Priority)> rules;

    public MergeTable(IEnumerable<MergeRule> merges)
    {
        rules = [];
        foreach (var rule in merges)
        {
            // tokenizer.json may list a pair twice; the first (highest priority) line is the one that can ever fire.
            rules.TryAdd(Key(rule.Left, rule.Right), (rule.Result, rule.Priority));
        }
    }

    public int Count => rules.Count;

    public bool TryGet(int left, int right, out int result, out int priority)
    {
        if (rules.TryGetValue(Key(left, right), out var rule))
        {
            (result, priority) = rule;
            return true;
        }
        (result, priority) = (-1, 0);
        return false;
    }

    /// <summary>All rules, best first (ties by ids, so the order is deterministic).</summary>
    public IEnumerable<MergeRule> InPriorityOrder()
        => rules.Select(r => new MergeRule((int)(r.Key >> 32), (int)r.Key, r.Value.Result, r.Value.Priority))
            .OrderBy(r => r.Priority).ThenBy(r => r.Result).ThenBy(r => r.Left);

    static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}

namespace TinyLlama.Data.Tokenizer;

/// <summary>
/// A binary min-heap of candidate merges ordered by (priority, position of the left symbol). The position breaks
/// ties the way SentencePiece does: of two equally good pairs, the leftmost merges first. Entries go stale when a
/// neighbour merges; the encoder checks each popped entry against the current symbols instead of deleting it here.
/// </summary>
internal sealed class MergeQueue
{
    long[] keys = new long[64];        // (priority << 32) | left
    Candidate[] items = new Candidate[64];
    int count;

    internal readonly record struct Candidate(int Left, int Right, int LeftId, int RightId, int Result);

    public int Count => count;

    public void Clear() => count = 0;

    public void Push(int priority, Candidate candidate)
    {
        if (count == keys.Length)
        {
            Array.Resize(ref keys, count * 2);
            Array.Resize(ref items, count * 2);
        }
        long key = ((long)priority << 32) | (uint)candidate.Left;
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (keys[parent] <= key) break;
            keys[i] = keys[parent];
            items[i] = items[parent];
            i = parent;
        }
        keys[i] = key;
        items[i] = candidate;
    }

    public Candidate Pop()
    {
        var top = items[0];
        long key = keys[--count];
        var item = items[count];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && keys[child + 1] < keys[child]) child++;
            if (key <= keys[child]) break;
            keys[i] = keys[child];
            items[i] = items[child];
            i = child;
        }
        keys[i] = key;
        items[i] = item;
        return top;
    }
}

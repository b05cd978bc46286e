namespace TinyLlama.Distributed;

/// <summary>
/// SLURM writes the job's hosts compressed: <c>node[01-04],gpu7</c> or <c>rack[1-2]-n[3,5]</c>. Rank 0 runs on the
/// first host, so that is where the rendezvous store listens — the value <c>scontrol show hostnames | head -1</c> gives.
/// </summary>
public static class SlurmNodeList
{
    public static string FirstHost(string nodeList)
    {
        ArgumentNullException.ThrowIfNull(nodeList);
        var host = new System.Text.StringBuilder();
        int depth = 0;
        bool skipRestOfGroup = false;
        foreach (char c in nodeList.Trim())
        {
            if (c == '[')
            {
                if (depth++ > 0) throw Bad(nodeList, "nested '['");
                skipRestOfGroup = false;
            }
            else if (c == ']')
            {
                if (--depth < 0) throw Bad(nodeList, "']' without '['");
            }
            else if (depth > 0)
            {
                // Inside a bracket the first item, and of a range its start, is the first host's part: "01-04,07" → "01".
                if (c is ',' or '-') skipRestOfGroup = true;
                else if (!skipRestOfGroup) host.Append(c);
            }
            else if (c == ',')
            {
                break; // the first host ends at the first comma outside brackets
            }
            else
            {
                host.Append(c);
            }
        }
        if (depth != 0) throw Bad(nodeList, "unclosed '['");
        if (host.Length == 0) throw Bad(nodeList, "no host name");
        return host.ToString();
    }

    static FormatException Bad(string nodeList, string why) =>
        new($"SLURM_JOB_NODELIST='{nodeList}': {why}; expected a SLURM host list such as 'node[01-04],gpu7'");
}

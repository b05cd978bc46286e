namespace TinyLlama.Distributed.Tests;

/// <summary>Tests that assert how long a failure takes run alone: on a two-core machine, parallel tests would stretch their clocks.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "timing";
}

namespace TinyLlama.Distributed.Tests;

public sealed class DistributedEnvironmentTests
{
    static DistributedSettings Resolve(params (string Name, string Value)[] variables) =>
        DistributedEnvironment.Resolve(variables.ToDictionary(v => v.Name, v => v.Value));

    [Fact]
    public void Torchrun_VariablesGiveRankWorldAndMaster()
    {
        var s = Resolve(("RANK", "3"), ("WORLD_SIZE", "8"), ("LOCAL_RANK", "1"), ("MASTER_ADDR", "10.0.0.7"), ("MASTER_PORT", "29600"),
            ("TINYLLAMA_JOB_TOKEN", "job-42"), ("TINYLLAMA_DIST_TIMEOUT", "12.5"));
        Assert.Equal((3, 8, 1, "10.0.0.7", 29600, "job-42", "torchrun"), (s.Rank, s.WorldSize, s.LocalRank, s.MasterAddress, s.MasterPort, s.JobToken, s.Source));
        Assert.Equal(TimeSpan.FromSeconds(12.5), s.Timeout);
    }

    [Fact]
    public void Torchrun_DefaultsPortTimeoutAndLocalRank()
    {
        var s = Resolve(("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h"));
        Assert.Equal((1, 29500), (s.LocalRank, s.MasterPort));
        Assert.Equal(DistributedSettings.DefaultTimeout, s.Timeout);
        // Derived tokens agree across the ranks of one job and differ between jobs on other ports.
        Assert.Equal(s.JobToken, Resolve(("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h")).JobToken);
        Assert.NotEqual(s.JobToken, Resolve(("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h"), ("MASTER_PORT", "29501")).JobToken);
    }

    [Fact]
    public void Slurm_UsesProcIdTasksLocalIdAndTheFirstHostOfTheNodeList()
    {
        var s = Resolve(("SLURM_PROCID", "5"), ("SLURM_NTASKS", "8"), ("SLURM_LOCALID", "1"), ("SLURM_JOB_NODELIST", "node[01-04],gpu7"), ("SLURM_JOB_ID", "991"));
        Assert.Equal((5, 8, 1, "node01", "slurm"), (s.Rank, s.WorldSize, s.LocalRank, s.MasterAddress, s.Source));
        Assert.Contains("991", s.JobToken);
    }

    [Fact]
    public void OpenMpi_UsesCommWorldVariables()
    {
        var s = Resolve(("OMPI_COMM_WORLD_RANK", "2"), ("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_LOCAL_RANK", "0"), ("MASTER_ADDR", "head"));
        Assert.Equal((2, 4, 0, "head", "openmpi"), (s.Rank, s.WorldSize, s.LocalRank, s.MasterAddress, s.Source));
    }

    [Fact]
    public void ExplicitValuesWinOverTheEnvironment()
    {
        var env = new Dictionary<string, string> { ["RANK"] = "0", ["WORLD_SIZE"] = "2", ["MASTER_PORT"] = "1000" };
        var s = DistributedEnvironment.Resolve(env, new DistributedOverrides { Rank = 2, WorldSize = 3, MasterPort = 4000, JobToken = "t", Timeout = TimeSpan.FromSeconds(3) });
        Assert.Equal((2, 3, 2, 4000, "t", "explicit"), (s.Rank, s.WorldSize, s.LocalRank, s.MasterPort, s.JobToken, s.Source));
    }

    [Fact]
    public void NothingSet_IsASingleProcess()
    {
        var s = Resolve();
        Assert.Equal((0, 1, "single process"), (s.Rank, s.WorldSize, s.Source));
    }

    [Theory]
    [InlineData("RANK", "5", "WORLD_SIZE", "4", "RANK=5 with WORLD_SIZE=4")]
    [InlineData("RANK", "x", "WORLD_SIZE", "4", "RANK='x': expected an integer")]
    [InlineData("RANK", "1", "MASTER_ADDR", "h", "WORLD_SIZE is not")]
    [InlineData("WORLD_SIZE", "2", "MASTER_ADDR", "h", "RANK is not")]
    [InlineData("SLURM_PROCID", "0", "SLURM_NTASKS", "0", "SLURM_NTASKS=0")]
    [InlineData("OMPI_COMM_WORLD_RANK", "-1", "OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_RANK=-1")]
    [InlineData("MASTER_PORT", "70000", "RANK", "0", "WORLD_SIZE is not")]
    public void BadValues_NameTheVariable(string name1, string value1, string name2, string value2, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => Resolve((name1, value1), (name2, value2)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void BadPortAndTimeout_NameTheVariable()
    {
        Assert.Contains("MASTER_PORT", Assert.Throws<ArgumentException>(() => Resolve(("RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_PORT", "70000"))).Message);
        Assert.Contains("TINYLLAMA_DIST_TIMEOUT='-3'", Assert.Throws<ArgumentException>(() => Resolve(("TINYLLAMA_DIST_TIMEOUT", "-3"))).Message);
        Assert.Contains("LOCAL_RANK=9", Assert.Throws<ArgumentException>(() => Resolve(("RANK", "0"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "9"))).Message);
    }

    [Theory]
    [InlineData("node[01-04],gpu7", "node01")]
    [InlineData("gnode[10,20,25,37]", "gnode10")]
    [InlineData("host1,host2", "host1")]
    [InlineData("single", "single")]
    [InlineData("rack[3-4]-n[007,9]", "rack3-n007")]
    public void SlurmNodeList_FirstHost(string list, string first) => Assert.Equal(first, SlurmNodeList.FirstHost(list));

    [Theory]
    [InlineData("node[01-04")]
    [InlineData("node]")]
    [InlineData("")]
    public void SlurmNodeList_Malformed_IsAFormatError(string list) =>
        Assert.Contains("SLURM_JOB_NODELIST", Assert.Throws<FormatException>(() => SlurmNodeList.FirstHost(list)).Message);
}

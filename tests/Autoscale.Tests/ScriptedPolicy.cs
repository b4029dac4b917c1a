namespace Autoscale.Tests;

/// <summary>
/// A policy for tests: answers a script of desired counts, one per call, cycling (0 for an empty script), or whatever
/// <see cref="Answer"/> says; records every signal it saw.
/// </summary>
internal sealed class ScriptedPolicy : IScalingPolicy
{
    private int _calls;

    /// <summary>A policy that asks for one replica more than the fleet has, every time.</summary>
    public ScriptedPolicy()
    {
        Answer = s => new ScalingDecision(s.CurrentReplicas + 1, "one more");
    }

    /// <summary>A policy that answers <paramref name="script"/> in turn.</summary>
    public ScriptedPolicy(int[] script)
    {
        Answer = _ => new ScalingDecision(script.Length == 0 ? 0 : script[_calls++ % script.Length], "scripted");
    }

    /// <summary>The answer to a signal.</summary>
    public Func<ScalingSignal, ScalingDecision> Answer { get; set; }

    /// <summary>Every signal the policy was asked with, in order.</summary>
    public List<ScalingSignal> Seen { get; } = [];

    public ScalingDecision Decide(in ScalingSignal signal)
    {
        Seen.Add(signal);
        return Answer(signal);
    }
}

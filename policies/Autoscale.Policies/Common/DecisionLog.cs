using System.Globalization;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Policies.Common;

/// <summary>
/// Counts what set a policy's decisions: each part of a composed policy (a floor and its reactive part, the
/// policies under <c>max</c>), and how often a cap held the decision back, from when. Its warnings name a part
/// that never set a decision alone, with the share each part set, and a cap that bound.
/// </summary>
/// <remarks>Allocates nothing per decision. Not thread-safe; owned by one policy instance.</remarks>
internal sealed class DecisionLog
{
    private readonly string[] _parts;
    private readonly long[] _set;
    private long _decisions;
    private long _capped;
    private Instant? _firstCapped;

    /// <summary>A log of decisions made by the named parts.</summary>
    public DecisionLog(params string[] parts)
    {
        _parts = parts;
        _set = new long[parts.Length];
    }

    /// <summary>Decisions counted.</summary>
    public long Decisions => _decisions;

    /// <summary>Records one decision, set alone by part <paramref name="part"/> (-1: by several at once, a tie).</summary>
    public void Decided(int part)
    {
        _decisions++;
        if (part >= 0)
        {
            _set[part]++;
        }
    }

    /// <summary>Records a decision held back by a cap at <paramref name="now"/>.</summary>
    public void Capped(Instant now)
    {
        _capped++;
        _firstCapped ??= now;
    }

    /// <summary>Decisions part <paramref name="part"/> set alone.</summary>
    public long SetBy(int part) => _set[part];

    /// <summary>"the schedule 0% (0), the reactive part 100% (80,640), ties 0% (0)".</summary>
    public string Shares()
    {
        var parts = _parts.Select((name, i) => $"{name} {Percent(_set[i])} ({_set[i].ToString("N0", CultureInfo.InvariantCulture)})").ToList();
        var ties = _decisions - _set.Sum();
        parts.Add($"ties {Percent(ties)} ({ties.ToString("N0", CultureInfo.InvariantCulture)})");
        return string.Join(", ", parts);
    }

    /// <summary>Warns for each part that never set a decision alone: leaving it out would change nothing.</summary>
    public void WarnUnusedParts(ICollection<string> warnings, string whole)
    {
        if (_decisions == 0)
        {
            return;
        }

        for (var i = 0; i < _parts.Length; i++)
        {
            if (_set[i] == 0)
            {
                warnings.Add($"{_parts[i]} never set a decision of {whole} alone, so leaving it out changes no decision (decisions set by {Shares()})");
            }
            else if (_set[i] * 100 < _decisions)
            {
                warnings.Add($"{_parts[i]} set only {Percent(_set[i])} of the decisions of {whole} alone: it hardly changes them (decisions set by {Shares()})");
            }
        }
    }

    /// <summary>Warns when the cap held decisions back: how many, of how many, from when.</summary>
    public void WarnCapped(ICollection<string> warnings, string cap)
    {
        if (_capped > 0)
        {
            warnings.Add($"{cap} held back {_capped.ToString("N0", CultureInfo.InvariantCulture)} of {_decisions.ToString("N0", CultureInfo.InvariantCulture)} decisions ({Percent(_capped)}), from {InstantPattern.ExtendedIso.Format(_firstCapped!.Value)}");
        }
    }

    private string Percent(long count) => ReplicaText.Percent(count, _decisions);
}

using Autoscale.Backtesting.Engine;

namespace Autoscale.Config.Tuning;

/// <summary>
/// Searches one candidate's tune space on one training window and judges the pick (and the baseline) on the test days
/// after it. Every point of a space no larger than the budget is evaluated on the whole window; a larger space is searched
/// in batches, each sampled (a Latin hypercube first, then a tree-structured Parzen estimator fitted on every point so
/// far) and cut by successive halving over the window's last days. Deterministic for a seed, whatever the number of threads:
/// batches are drawn in order on one thread, and only their replays run in parallel.
/// </summary>
public sealed class Tuner
{
    /// <summary>Each rung keeps the best third of its points.</summary>
    private const int Eta = 3;

    private readonly ReplaySettings _settings;
    private readonly TuneData _data;
    private readonly TuneTarget _target;
    private readonly int _budget;
    private readonly long _seed;
    private readonly int _threads;
    private readonly Action<TuneEvaluation>? _evaluated;
    private readonly double _margin;
    private readonly Dictionary<(int Window, int Days), double[]> _allowed = [];

    /// <summary>
    /// The share of each training day's error budget a pick keeps to spare by default: none, so that a setting meets the
    /// SLO on a training window as a backtest of that window alone judges it. A margin (0.5 halves the slack, as Autopilot
    /// does) also holds the pick to each training day alone, so that a day unlike them still finds it within the SLO.
    /// </summary>
    public const double DefaultMargin = 0;

    public Tuner(ReplaySettings settings, TuneData data, TuneTarget target, int budget, long seed, int threads, Action<TuneEvaluation>? evaluated = null, double margin = DefaultMargin)
    {
        _margin = margin;
        _settings = settings;
        _data = data;
        _target = target;
        _budget = budget;
        _seed = seed;
        _threads = threads;
        _evaluated = evaluated;
    }

    /// <summary>How many settings a window evaluates: the whole space when it fits the budget, else the budget.</summary>
    public int EvaluationsPerWindow => _target.Size is { } size && size <= _budget ? (int)size : _budget;

    /// <summary>The days a setting is first judged on in <paramref name="window"/>: the whole window for a grid, else the first rung's.</summary>
    public int FirstRungDays(TuneWindow window) => _target.Size is { } size && size <= _budget ? window.TrainDayCount : Rungs(window.TrainDayCount)[0];

    /// <summary>The search, then the judging, of <paramref name="window"/> for candidate number <paramref name="candidate"/>.</summary>
    public TuneUnit Run(int candidate, TuneWindow window, CancellationToken cancellationToken)
    {
        var random = new SplitMix(SplitMix.Mix(_seed, candidate, window.Index));
        var grid = _target.Size is { } size && size <= _budget;
        var evaluations = grid ? Grid(window, cancellationToken) : Search(window, random, cancellationToken);

        var full = evaluations.Select((e, i) => (e, i)).Where(p => p.e.Days == window.TrainDayCount).ToList();
        var best = full.OrderBy(p => p.e.Score, Comparer<TuneScore>.Create(TuneScore.Compare)).ThenBy(p => p.i).First().e;
        var pick = best.Values;

        // The pick by days of its training window and on the test days; the baseline on the same test days.
        var pickSpec = Build(pick);
        var (pickTrain, pickTrainDays, pickTestDays) = Judge(pickSpec, window, trainDays: true, cancellationToken);
        var (baselineTrain, _, baselineTestDays) = Judge(_target.Baseline, window, trainDays: false, cancellationToken);
        _data.Forget();
        return new TuneUnit
        {
            Candidate = candidate,
            Window = window,
            TargetPercent = _settings.Slo.TargetPercent,
            Search = grid ? "grid" : "tpe",
            Evaluations = evaluations,
            Pick = pick,
            PickOptions = _target.OptionsAt(pick),
            PickMetSlo = best.Score.MeetsEveryDay,
            PickTrain = pickTrain,
            PickTrainDays = pickTrainDays,
            PickTestDays = pickTestDays,
            BaselineTrain = baselineTrain,
            BaselineTestDays = baselineTestDays,
        };
    }

    /// <summary>Replays <paramref name="spec"/> on the window's day <paramref name="day"/> (a test day) continuously from the start of its training window, with a timeline.</summary>
    public CandidateResult Timeline(CandidateSpec spec, TuneWindow window, int day, int points)
    {
        var end = window.TestDays[day + 1];
        return _data.Replay(spec, _settings, window.TrainFrom, end, window.TrainTo, points);
    }

    private List<TuneEvaluation> Grid(TuneWindow window, CancellationToken cancellationToken)
    {
        var points = new List<double[]> { Array.Empty<double>() };
        foreach (var dimension in _target.Dimensions)
        {
            points = points.SelectMany(p => dimension.Grid!.Select(v => (double[])[.. p, v])).ToList();
        }

        return Evaluate(points, window, window.TrainDayCount, cancellationToken);
    }

    /// <summary>The first batch: the baseline's own values (where the space holds them), then a Latin hypercube.</summary>
    private void FirstBatch(List<double[]> batch, int size, SplitMix random, Func<double[], bool> taken)
    {
        var dimensions = _target.Dimensions;
        var baseline = _target.BaselineValues;
        if (baseline.All(v => v is not null))
        {
            batch.Add(dimensions.Select((d, i) => d.Unit(baseline[i]!.Value)).ToArray());
        }

        foreach (var u in Tpe.LatinHypercube(size, dimensions.Count, random))
        {
            if (batch.Count < size && !taken(u))
            {
                batch.Add(u);
            }
        }
    }

    /// <summary>
    /// Successive halving of one batch: every point on the first rung's days, the best third of them on the next, ...;
    /// each point's standing (the highest rung it reached and its score there) kept for the proposals to come.
    /// </summary>
    private void Halve(List<double[]> batch, List<(double[] Unit, int Rung, TuneScore Score, int Order)> standing, List<TuneEvaluation> all, TuneWindow window,
        IReadOnlyList<int> rungs, string? baselineKey, CancellationToken cancellationToken)
    {
        // Successive halving: every point on the first rung's days, the best third of them on the next, ...
        var alive = batch.Select((u, i) => (Unit: u, Order: standing.Count + i)).ToList();
        for (var r = 0; r < rungs.Count && alive.Count > 0; r++)
        {
            var scored = Evaluate(alive.Select(a => Snap(a.Unit)).ToList(), window, rungs[r], cancellationToken);
            all.AddRange(scored);
            var ranked = alive.Zip(scored).OrderBy(p => p.Second.Score, Comparer<TuneScore>.Create(TuneScore.Compare)).ThenBy(p => p.First.Order).ToList();
            var keep = r == rungs.Count - 1 ? 0 : Math.Max(1, (int)Math.Ceiling((double)ranked.Count / Eta));

            // The baseline's own setting always reaches the whole window: the pick is never one that a rung's few
            // days preferred to it where the whole window would not.
            var promoted = ranked.Take(keep).Concat(ranked.Skip(keep).Where(p => keep > 0 && Key(Snap(p.First.Unit)) == baselineKey)).ToList();
            foreach (var (a, e) in ranked.Where(p => !promoted.Contains(p)))
            {
                standing.Add((a.Unit, r, e.Score, a.Order));
            }

            if (r == rungs.Count - 1)
            {
                foreach (var (a, e) in ranked.Take(ranked.Count))
                {
                    standing.Add((a.Unit, r, e.Score, a.Order));
                }
            }

            alive = promoted.Select(p => p.First).ToList();
        }
    }

    private List<TuneEvaluation> Search(TuneWindow window, SplitMix random, CancellationToken cancellationToken)
    {
        var dimensions = _target.Dimensions;
        var rungs = Rungs(window.TrainDayCount);
        var all = new List<TuneEvaluation>();
        var seen = new HashSet<string>(StringComparer.Ordinal);

        // Each point's standing: the highest rung it reached and its place there (a point cut early stands below every point kept).
        var standing = new List<(double[] Unit, int Rung, TuneScore Score, int Order)>();
        // Three points reach the last rung of each batch; the batch never depends on the threads (the draws would).
        var batchSize = 3 * (int)Math.Pow(Eta, rungs.Count - 1);
        var first = true;

        // The baseline's setting, when the space holds it exactly.
        var written = _target.BaselineValues;
        var baselineKey = written.All(v => v is not null) && Key(Snap(dimensions.Select((d, i) => d.Unit(written[i]!.Value)).ToArray())) == Key(written.Select(v => v!.Value).ToList())
            ? Key(written.Select(v => v!.Value).ToList())
            : null;
        while (seen.Count < _budget)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var size = Math.Min(batchSize, _budget - seen.Count);
            var batch = new List<double[]>();
            bool Taken(double[] unit) => seen.Contains(Key(Snap(unit))) || batch.Any(b => Key(Snap(b)) == Key(Snap(unit)));
            if (first)
            {
                FirstBatch(batch, size, random, Taken);
                first = false;
            }

            var ordered = standing.OrderByDescending(s => s.Rung).ThenBy(s => s.Score, Comparer<TuneScore>.Create(TuneScore.Compare)).ThenBy(s => s.Order).Select(s => s.Unit).ToList();
            var misses = 0;
            while (batch.Count < size && misses < 64)
            {
                var u = ordered.Count > 1 ? Tpe.Propose(ordered, dimensions.Count, random, Taken) : null;
                u ??= Enumerable.Range(0, dimensions.Count).Select(_ => random.NextDouble()).ToArray();
                if (Taken(u))
                {
                    misses++;
                    continue;
                }

                batch.Add(u);
            }

            if (batch.Count == 0)
            {
                break;
            }

            foreach (var u in batch)
            {
                seen.Add(Key(Snap(u)));
            }

            Halve(batch, standing, all, window, rungs, baselineKey, cancellationToken);
        }

        return all;
    }

    /// <summary>The days each rung judges on: the window's last days, a third as many per rung down, at least one.</summary>
    internal static List<int> Rungs(int trainDays)
    {
        var rungs = new List<int> { trainDays };
        var days = trainDays;
        while (days > 1 && rungs.Count < 3)
        {
            days = (int)Math.Ceiling((double)days / Eta);
            if (days == rungs[0])
            {
                break;
            }

            rungs.Insert(0, days);
        }

        return rungs;
    }

    private double[] Snap(double[] unit) => _target.Dimensions.Select((d, i) => d.At(unit[i])).ToArray();

    private static string Key(IReadOnlyList<double> values) => string.Join(",", values.Select(TuneDimension.Format));

    /// <summary>Evaluates the settings on the window's last <paramref name="days"/> training days, in parallel; the results keep their order.</summary>
    private List<TuneEvaluation> Evaluate(IReadOnlyList<double[]> points, TuneWindow window, int days, CancellationToken cancellationToken)
    {
        var from = window.TrainDays[window.TrainDayCount - days];
        var dayStarts = window.TrainDays.Skip(window.TrainDayCount - days).ToList();
        var allowed = _margin > 0 ? Allowed(window, days) : null;
        var results = new TuneEvaluation[points.Count];
        Parallel.For(0, points.Count, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = cancellationToken }, i =>
        {
            TuneScore score;
            try
            {
                if (allowed is null)
                {
                    // No margin: a setting meets the SLO as the backtest of its days judges it, all their requests together.
                    score = TuneScore.Of(_data.Replay(Build(points[i]), _settings, from, window.TrainTo, window.TrainTo));
                }
                else
                {
                    var (result, counts) = _data.Evaluate(Build(points[i]), _settings, from, window.TrainTo, window.TrainTo, dayStarts);
                    score = TuneScore.Of(result, days, DaysMet(counts, allowed));
                }
            }
            catch (ConfigException e)
            {
                score = TuneScore.Failure(e.Problem) with { Days = days };
            }

            results[i] = new TuneEvaluation(points[i], days, score);
            _evaluated?.Invoke(results[i]);
        });
        return [.. results];
    }

    /// <summary>
    /// The share of each of the window's last <paramref name="days"/> days' requests a setting may lose and still meet the
    /// SLO that day: the error budget less the margin, or the baseline's own share that day where it lost more (a pick is
    /// never held to more than the settings it replaces), never more than the budget itself.
    /// </summary>
    private double[] Allowed(TuneWindow window, int days)
    {
        lock (_allowed)
        {
            if (_allowed.TryGetValue((window.Index, days), out var known))
            {
                return known;
            }
        }

        var budget = (100 - _settings.Slo.TargetPercent) / 100;
        var from = window.TrainDays[window.TrainDayCount - days];
        var (_, counts) = _data.Evaluate(_target.Baseline, _settings, from, window.TrainTo, window.TrainTo, window.TrainDays.Skip(window.TrainDayCount - days).ToList());
        var allowed = Enumerable.Range(0, days)
            .Select(d => Math.Min(budget, Math.Max(budget * (1 - _margin), d < counts.Count && counts[d].Requests > 0 ? (double)counts[d].Violations / counts[d].Requests : 0)))
            .ToArray();
        lock (_allowed)
        {
            _allowed[(window.Index, days)] = allowed;
        }

        return allowed;
    }

    private static int DaysMet(IReadOnlyList<(long Requests, long Violations)> counts, double[] allowed) =>
        counts.Select((c, d) => c.Violations <= allowed[d] * c.Requests * (1 + 1e-12) ? 1 : 0).Sum();

    private CandidateSpec Build(IReadOnlyList<double> point) => _target.Build(point, $"{_target.Baseline.Name} {_target.Describe(point)}");

    /// <summary>
    /// The candidate on its training window, and day by day: each day is what the replay that ends after it adds to the one
    /// that ends before it (test days replayed continuously from the window's start).
    /// </summary>
    private (TuneScore Train, List<TuneDay> TrainDays, List<TuneDay> TestDays) Judge(CandidateSpec spec, TuneWindow window, bool trainDays, CancellationToken cancellationToken)
    {
        var ends = new List<long>();
        if (trainDays)
        {
            ends.AddRange(window.TrainDays.Skip(1).Take(window.TrainDayCount - 1));
        }

        ends.Add(window.TrainTo);
        ends.AddRange(window.TestDays.Skip(1));
        var results = new TuneScore[ends.Count];
        Parallel.For(0, ends.Count, new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = cancellationToken }, i =>
            results[i] = TuneScore.Of(_data.Replay(spec, _settings, window.TrainFrom, ends[i], window.TrainTo)));
        var byEnd = ends.Zip(results).ToDictionary(p => p.First, p => p.Second);
        var train = byEnd[window.TrainTo];
        List<TuneDay> Days(IReadOnlyList<long> boundaries, int firstDay)
        {
            var days = new List<TuneDay>();
            for (var d = 0; d + 1 < boundaries.Count; d++)
            {
                var before = boundaries[d] == window.TrainFrom ? new TuneScore(0, 0, 0, 0, true) : byEnd[boundaries[d]];
                var after = byEnd[boundaries[d + 1]];
                if (after.Failed || before.Failed)
                {
                    days.Add(new TuneDay(window.DayStarts[firstDay + d], 0, 0, 0, 0, false, after.Error ?? before.Error));
                    continue;
                }

                var requests = after.Requests - before.Requests;
                var violations = Math.Max(0, after.Violations - before.Violations);
                days.Add(new TuneDay(window.DayStarts[firstDay + d], after.Dollars - before.Dollars, after.CostDollars - before.CostDollars,
                    requests, violations, TuneScore.Meets(requests, violations, _settings.Slo.TargetPercent)));
            }

            return days;
        }

        return (train, trainDays ? Days(window.TrainDays, 0) : [], Days(window.TestDays, window.TrainDayCount));
    }
}

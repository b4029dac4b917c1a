using System.Globalization;
using Autoscale.Config.Tuning;

namespace Autoscale.Cli.Output;

/// <summary>
/// A tune's progress on standard error, for runs longer than a few seconds: a line every few seconds with the settings
/// evaluated, the window being searched and the best setting of it so far. Thread-safe.
/// </summary>
internal sealed class TuneProgress : IDisposable
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);

    private readonly TextWriter _stderr;
    private readonly int _total;
    private readonly int _windows;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private readonly Timer _timer;
    private int _done;
    private int _window;
    private string _label = "";
    private int _firstRungDays;
    private int _fullDays;
    private TuneScore? _best;
    private bool _printed;

    public TuneProgress(TextWriter stderr, int total, int windows)
    {
        _stderr = stderr;
        _total = total;
        _windows = windows;
        _timer = new Timer(_ => Print(), null, Quiet, Every);
    }

    /// <summary>A window's search begins.</summary>
    public void Window(string candidate, TuneWindow window, int firstRungDays)
    {
        lock (_gate)
        {
            _window++;
            _label = $"{candidate}, {(window.Deploy ? "last training window" : $"fold {window.Index + 1}")}";
            _firstRungDays = firstRungDays;
            _fullDays = window.TrainDayCount;
            _best = null;
        }
    }

    /// <summary>A setting was evaluated (on some rung).</summary>
    public void Evaluated(TuneEvaluation evaluation)
    {
        lock (_gate)
        {
            if (evaluation.Days == _firstRungDays)
            {
                _done++;
            }

            if (evaluation.Days == _fullDays && (_best is null || TuneScore.Compare(evaluation.Score, _best) < 0))
            {
                _best = evaluation.Score;
            }
        }
    }

    /// <summary>Ends the progress lines (a last one when any was shown).</summary>
    public void Finish()
    {
        _timer.Change(Timeout.Infinite, Timeout.Infinite);
        lock (_gate)
        {
            if (_printed)
            {
                _stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tune: done, {_done} settings evaluated in {_clock.Elapsed.TotalSeconds:0.0} s"));
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Print()
    {
        lock (_gate)
        {
            var best = _best is null ? "no setting judged on the whole window yet"
                : string.Create(CultureInfo.InvariantCulture, $"best so far ${_best.CostDollars:N2} on the training days, {(_best.MeetsSlo ? "meets" : "misses")} the SLO ({_best.ViolationPercent:0.###} % late)");
            _stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tune: {_done}/{_total} settings evaluated, window {_window} of {_windows} ({_label}): {best}"));
            _printed = true;
        }
    }
}

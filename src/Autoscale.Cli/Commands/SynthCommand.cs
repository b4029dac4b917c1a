using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Autoscale.Traces.Synthesis;
using Autoscale.Traces;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale trace synth</c>: seeded synthetic traffic, or a transform of an existing trace.</summary>
internal static partial class SynthCommand
{
    public static Command Create(CliContext context)
    {
        var output = CliOptions.RequiredPath("--out", "The Parquet trace to write.");
        var start = new Option<string?>("--start") { Description = "ISO-8601 start (default 2026-01-05T00:00:00Z, a Monday)." };
        var duration = new Option<string>("--duration") { Description = "Length, e.g. 90s, 15m, 6h, 14d, 52w, 365d. With --from: keep only this much of the trace (after --from-offset).", DefaultValueFactory = _ => "1d" };
        var fromOffset = new Option<string?>("--from-offset") { Description = "With --from: start this far into the trace, e.g. 13h (a window of a long trace, with --duration)." };
        var interval = new Option<string>("--interval") { Description = "Row interval.", DefaultValueFactory = _ => "1s" };
        var mean = new Option<double>("--mean-rps") { Description = "Mean requests per second over a whole week (weekdays and weekends together, before spikes and noise).", DefaultValueFactory = _ => 100 };
        var daily = new Option<double>("--daily-amplitude") { Description = "Daily swing as a fraction of the mean, 0 to 1 (default 0)." };
        var peak = new Option<double>("--peak-hour") { Description = "Local hour of the daily peak.", DefaultValueFactory = _ => 14 };
        var weekend = new Option<double>("--weekend-factor") { Description = "Saturday and Sunday rate as a fraction of the weekdays' (the week's mean stays --mean-rps).", DefaultValueFactory = _ => 1 };
        var zone = new Option<string>("--time-zone") { Description = "IANA zone of the daily and weekly cycles.", DefaultValueFactory = _ => "UTC" };
        var spikes = new Option<string[]>("--spike")
        {
            Description = "A spike: at=ISO|+OFFSET,width=DURATION,height=3x|+200[,every=1d]. Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var noise = new Option<string?>("--noise") { Description = "poisson, none or dispersion=D (variance D x mean). Default: poisson; none with --from." };
        var seed = new Option<int>("--seed") { Description = "Seed of every random draw.", DefaultValueFactory = _ => 1 };
        var from = new Option<string?>("--from") { Description = "A trace to transform instead of a synthetic rate; its token columns are kept (each interval's requests times the source interval's tokens per request)." };
        var scale = new Option<double>("--scale") { Description = "Multiply the rate.", DefaultValueFactory = _ => 1 };
        var shift = new Option<string?>("--shift") { Description = "Move the --from trace in time, e.g. 7d or -1h." };
        var repeat = new Option<int>("--repeat") { Description = "Play the --from trace this many times back to back.", DefaultValueFactory = _ => 1 };
        var prefixGroups = new Option<int?>("--prefix-groups")
        {
            Description = "Write a request log whose requests each join one of N prefix groups (Zipf-weighted: group k has weight 1/k) for prefix caching; a --from request log keeps its requests.",
        };
        var prefixTokens = new Option<long?>("--prefix-tokens") { Description = "With --prefix-groups: the leading prompt tokens a request shares with its group (all of a shorter prompt)." };
        var command = new Command("synth", "Generate seeded traffic (daily and weekly cycles, spikes, noise) or transform a trace (scale, shift, repeat, spikes).")
        {
            output, start, duration, interval, mean, daily, peak, weekend, zone, spikes, noise, seed, from, fromOffset, scale, shift, repeat, prefixGroups, prefixTokens,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var step = ParseDuration(parse.GetValue(interval)!, "--interval");
            var origin = parse.GetValue(start) is { } s ? CliInstant.Parse(s, "--start") : Instant.FromUtc(2026, 1, 5, 0, 0);
            TickTrace? baseTrace = null;

            // A request log given with --from and prefix groups keeps its requests (PrefixedLogAsync reads them): not read
            // as ticks here too.
            var keptLog = parse.GetValue(prefixGroups) is not null && parse.GetValue(from) is { } logPath
                && parse.GetValue(scale) == 1 && parse.GetValue(repeat) == 1 && (parse.GetValue(spikes) ?? []).Length == 0
                && await IsRequestLogAsync(logPath, cancellationToken);
            if (!keptLog && parse.GetValue(from) is { } basePath)
            {
                baseTrace = await ParquetTrace.ReadWithTokensAsync(basePath, step, cancellationToken: cancellationToken);
                var skip = parse.GetValue(fromOffset) is { } o ? ParseDuration(o, "--from-offset") : Duration.Zero;
                Duration? keep = parse.GetResult(duration) is { Implicit: false } ? ParseDuration(parse.GetValue(duration)!, "--duration") : null;
                baseTrace = Window(baseTrace, skip, keep);
                origin = baseTrace.Start;
            }

            var timeZone = DateTimeZoneProviders.Tzdb.GetZoneOrNull(parse.GetValue(zone)!)
                ?? throw new UserInputException($"--time-zone: \"{parse.GetValue(zone)}\" is not an IANA time zone (e.g. Europe/Berlin)");
            var (noiseKind, dispersion) = ParseNoise(parse.GetValue(noise), baseTrace is not null);
            var options = new SynthOptions
            {
                Start = origin,
                Length = ParseDuration(parse.GetValue(duration)!, "--duration"),
                Interval = step,
                MeanRps = parse.GetValue(mean),
                DailyAmplitude = parse.GetValue(daily),
                PeakHour = parse.GetValue(peak),
                WeekendFactor = parse.GetValue(weekend),
                TimeZone = timeZone,
                Spikes = (parse.GetValue(spikes) ?? []).Select(x => ParseSpike(x, origin)).ToList(),
                Noise = noiseKind,
                Dispersion = dispersion,
                Seed = parse.GetValue(seed),
                Base = baseTrace,
                Scale = parse.GetValue(scale),
                Shift = parse.GetValue(shift) is { } sh ? ParseDuration(sh, "--shift", allowNegative: true) : Duration.Zero,
                Repeat = parse.GetValue(repeat),
            };
            var errors = options.Validate();
            if (errors.Count > 0)
            {
                throw new UserInputException(errors[0]);
            }

            var path = parse.GetValue(output)!;
            if (parse.GetValue(prefixGroups) is { } groups)
            {
                var shared = parse.GetValue(prefixTokens) ?? throw new UserInputException("--prefix-groups needs --prefix-tokens (the prompt tokens a request shares with its group)");
                if (groups is < 1 or > 10_000_000)
                {
                    throw new UserInputException($"--prefix-groups ({groups}) must be between 1 and 10000000");
                }

                if (shared is < 0 or > 100_000_000)
                {
                    throw new UserInputException($"--prefix-tokens ({shared}) must be between 0 and 100000000");
                }

                var written = keptLog
                    ? await PrefixedLogAsync(parse.GetValue(from)!, options, parse.GetValue(fromOffset), parse.GetResult(duration) is { Implicit: false } ? parse.GetValue(duration) : null, groups, shared, path, cancellationToken)
                    : null;
                written ??= await PrefixGroupSynthesis.WriteAsync(options, groups, shared, path, cancellationToken);
                await context.Stderr.WriteLineAsync($"wrote {path}: {written} requests (request log) in {groups} prefix groups of {shared} tokens");
                return AutoscaleCli.Success;
            }

            if (parse.GetValue(prefixTokens) is not null)
            {
                throw new UserInputException("--prefix-tokens needs --prefix-groups");
            }

            var (rows, requests) = await TrafficSynthesizer.WriteAsync(options, path, cancellationToken);
            await context.Stderr.WriteLineAsync($"wrote {path}: {rows} intervals, {requests} requests");
            return AutoscaleCli.Success;
        });
        return command;
    }

    /// <summary>Whether <paramref name="path"/> is a request log (its metadata read, not its rows).</summary>
    private static async Task<bool> IsRequestLogAsync(string path, CancellationToken cancellationToken)
    {
        await using var reader = await TraceReader.OpenAsync(path, Duration.FromSeconds(1), path, cancellationToken);
        return reader.Info.Shape == TraceShape.RequestLog;
    }

    /// <summary>
    /// A request log given with --from, its requests kept as they are (the window of --from-offset and --duration, moved by
    /// --shift), with prefix groups added; null when the source is interval counts (spread out as synthesized traffic is).
    /// </summary>
    private static async Task<long?> PrefixedLogAsync(string source, SynthOptions options, string? offset, string? keep, int groups, long shared, string path, CancellationToken cancellationToken)
    {
        await using var reader = await TraceReader.OpenAsync(source, Duration.FromSeconds(1), source, cancellationToken);
        if (reader.Info.Shape != TraceShape.RequestLog)
        {
            return null;
        }

        var startNanos = (reader.Start - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
        var from = offset is null ? 0 : ParseDuration(offset, "--from-offset").ToInt64Nanoseconds();
        var to = keep is null ? long.MaxValue : from + ParseDuration(keep, "--duration").ToInt64Nanoseconds();
        var shift = options.Shift.ToInt64Nanoseconds();
        var stamps = new List<long>();
        List<long>? input = reader.Info.HasInputTokens ? [] : null, output = reader.Info.HasOutputTokens ? [] : null;
        await foreach (var batch in reader.ReadRequestsAsync(cancellationToken))
        {
            for (var i = 0; i < batch.ArrivalNanos.Length; i++)
            {
                var at = batch.ArrivalNanos[i];
                if (at >= from && at < to)
                {
                    stamps.Add(startNanos + at + shift);
                    input?.Add(batch.InputTokens![i]);
                    output?.Add(batch.OutputTokens![i]);
                }
            }
        }

        if (stamps.Count == 0)
        {
            throw new UserInputException($"{source}: no request in the window of --from-offset and --duration");
        }

        var prefixes = PrefixGroupSynthesis.Assign(groups, shared, options.Seed, 0, input?.ToArray(), stamps.Count);
        await ParquetTrace.WriteRequestLogWithPrefixesAsync(path, stamps.ToArray(), PrefixGroupSynthesis.Column(input), PrefixGroupSynthesis.Column(output), prefixes, cancellationToken: cancellationToken);
        return stamps.Count;
    }

    /// <summary>The ticks of <paramref name="trace"/> from <paramref name="skip"/> on, at most <paramref name="keep"/> of them (all when null).</summary>
    private static TickTrace Window(TickTrace trace, Duration skip, Duration? keep)
    {
        var tick = trace.Tick.ToInt64Nanoseconds();
        var from = skip.ToInt64Nanoseconds() / tick;
        if (skip.ToInt64Nanoseconds() % tick != 0 || (keep is { } k0 && k0.ToInt64Nanoseconds() % tick != 0))
        {
            throw new UserInputException("--from-offset and --duration must be whole multiples of --interval");
        }

        if (from >= trace.Length)
        {
            throw new UserInputException($"--from-offset ({skip.TotalSeconds:0.###} s) is past the end of the trace ({(trace.Length * trace.Tick.TotalSeconds):0.###} s long)");
        }

        var to = keep is { } k ? Math.Min(trace.Length, from + (k.ToInt64Nanoseconds() / tick)) : trace.Length;
        if (from == 0 && to == trace.Length)
        {
            return trace;
        }

        var range = (int)from..(int)to;
        return new TickTrace(trace.Start + (trace.Tick * from), trace.Tick, trace.Arrivals[range])
        {
            InputTokens = trace.InputTokens?[range],
            OutputTokens = trace.OutputTokens?[range],
        };
    }

    /// <summary>Parses <c>90s</c>, <c>15m</c>, <c>6h</c>, <c>14d</c>, <c>2w</c>, <c>250ms</c> (and a leading minus where allowed).</summary>
    internal static Duration ParseDuration(string text, string option, bool allowNegative = false)
    {
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success || (!allowNegative && match.Groups[1].Value == "-"))
        {
            throw new UserInputException($"{option}: \"{text}\" is not a duration such as 90s, 15m, 6h, 14d or 2w");
        }

        var value = double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) * (match.Groups[1].Value == "-" ? -1 : 1);
        var seconds = match.Groups[3].Value switch
        {
            "ms" => value / 1000,
            "s" => value,
            "m" => value * 60,
            "h" => value * 3600,
            "d" => value * 86_400,
            _ => value * 604_800,
        };
        if (!(Math.Abs(seconds) <= 36_525 * 86_400.0))
        {
            throw new UserInputException($"{option}: \"{text}\" is longer than a hundred years");
        }

        return OptionDuration.FromSeconds(seconds);
    }

    /// <summary>Parses <c>at=ISO|+OFFSET,width=DURATION,height=3x|+200[,every=DURATION]</c>.</summary>
    internal static SpikeSpec ParseSpike(string text, Instant origin)
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new UserInputException($"--spike: \"{part}\" is not key=value (in \"{text}\")");
            }

            parts[part[..eq]] = part[(eq + 1)..];
        }

        foreach (var key in parts.Keys.Where(k => k is not ("at" or "width" or "height" or "every")))
        {
            throw new UserInputException($"--spike: unknown key \"{key}\" (known: at, width, height, every)");
        }

        if (!parts.TryGetValue("at", out var at) || !parts.TryGetValue("width", out var width) || !parts.TryGetValue("height", out var height))
        {
            throw new UserInputException($"--spike: \"{text}\" needs at=, width= and height= (e.g. at=+9h,width=2m,height=3x)");
        }

        var when = at.StartsWith('+') ? origin + ParseDuration(at[1..], "--spike at") : CliInstant.Parse(at, "--spike at");
        double multiplier = 1, added = 0;
        if (height.EndsWith('x') && double.TryParse(height[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m >= 0)
        {
            multiplier = m;
        }
        else if (height.StartsWith('+') && double.TryParse(height[1..], NumberStyles.Float, CultureInfo.InvariantCulture, out var a) && a >= 0)
        {
            added = a;
        }
        else
        {
            throw new UserInputException($"--spike height: \"{height}\" must be a multiplier such as 3x or an added rate such as +200");
        }

        var every = parts.TryGetValue("every", out var e) ? ParseDuration(e, "--spike every") : (Duration?)null;
        return new SpikeSpec(when, ParseDuration(width, "--spike width"), multiplier, added, every);
    }

    private static (NoiseKind Kind, double Dispersion) ParseNoise(string? text, bool transform)
    {
        if (text is null)
        {
            return (transform ? NoiseKind.None : NoiseKind.Poisson, 2);
        }

        if (text == "poisson")
        {
            return (NoiseKind.Poisson, 2);
        }

        if (text == "none")
        {
            return (NoiseKind.None, 2);
        }

        if (text.StartsWith("dispersion=", StringComparison.Ordinal) &&
            double.TryParse(text["dispersion=".Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return (NoiseKind.Dispersion, d);
        }

        throw new UserInputException($"--noise: \"{text}\" must be poisson, none or dispersion=D (D > 1)");
    }

    [GeneratedRegex(@"^(-?)(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")]
    private static partial Regex DurationPattern();
}

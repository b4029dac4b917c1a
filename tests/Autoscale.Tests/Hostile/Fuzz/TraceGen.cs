using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Tests.Hostile.Fuzz;

/// <summary>
/// A generated input file and how to run it. <see cref="Requests"/> is the request count a correct reading
/// must find, where the case is clean (a valid input the tool must accept); null where the case may
/// rightly be refused.
/// </summary>
internal sealed record FileCase(string FileName, byte[] Content, string[] Args, long? Requests, string Description);

/// <summary>A generated Parquet file, as the DuckDB statement that writes it.</summary>
internal sealed record ParquetCase(string Select, string CopyOptions, long? Requests, string Description);

/// <summary>A generated <c>trace synth</c> command line (without <c>--out</c>).</summary>
internal sealed record SynthCase(string[] Args);

/// <summary>Generators of traces and trace-making inputs: CSV and JSON Lines logs, Parquet from DuckDB, synth options.</summary>
internal static class TraceGen
{
    private static readonly Instant Sane = Instant.FromUtc(2026, 1, 5, 0, 0);

    /// <summary>Starting instants: mostly ordinary; sometimes at or past the edges of what a trace can hold (1678-2261).</summary>
    private static Gen<(Instant At, bool Sane)> Base => Gen.Frequency(
        (8, Gen.Elements(Sane, Instant.FromUtc(1970, 1, 1, 0, 0), Instant.FromUtc(2000, 2, 29, 23, 59, 59)).Select(i => (i, true))),
        (1, Gen.Elements(
            Instant.FromUtc(1, 1, 1, 0, 0), Instant.FromUtc(1500, 6, 1, 0, 0), Instant.FromUtc(1677, 9, 21, 0, 12, 44),
            Instant.FromUtc(1678, 1, 1, 0, 0), Instant.FromUtc(2261, 12, 31, 23, 0), Instant.FromUtc(2262, 4, 11, 23, 47, 16),
            Instant.FromUtc(2300, 1, 1, 0, 0), Instant.FromUtc(9999, 12, 31, 23, 59, 59)).Select(i => (i, false))));

    /// <summary>Gaps between rows, in nanoseconds: mostly whole seconds or minutes; sometimes none, sub-millisecond, negative or decades.</summary>
    private static Gen<(long Nanos, bool Sane)> Step => Gen.Frequency(
        (8, Gen.Elements(1L, 1L, 2L, 60L, 3600L).Select(s => (s * 1_000_000_000L, true))),
        (1, Gen.Elements(0L, 250_000L, 1_500_000L, -5_000_000_000L, 30L * 365 * 86_400 * 1_000_000_000L, 40L * 365 * 86_400 * 1_000_000_000L).Select(n => (n, false))));

    private static Gen<(string Text, long Value, bool Sane)> Count => Gen.Frequency(
        (8, Gen.Elements(0L, 1L, 2L, 7L, 100L, 12_345L).Select(v => (v.ToString(CultureInfo.InvariantCulture), v, true))),
        (1, Gen.Elements("-1", "9223372036854775807", "4611686018427387904", "1.5", "", "abc", "1e300", " 3", "+4", "0x10").Select(t => (t, 0L, false))));

    // ---------------------------------------------------------------- CSV and JSON Lines

    public static Gen<FileCase> TextLog =>
        from jsonl in Gen.Elements(false, true)
        from counts in Gen.Elements(false, true)
        from tokens in Gen.Choose(0, 2)
        from rows in Gen.Frequency((1, Gen.Constant(0)), (10, Gen.Choose(1, 30)))
        from start in Base
        from clock in Gen.Elements("iso", "iso", "offset", "space", "seconds", "ms", "us")
        from steps in Gen.ListOf(Step, rows)
        from values in Gen.ListOf(Count, rows)
        from inTokens in Gen.ListOf(Count, rows)
        from outTokens in Gen.ListOf(Count, rows)
        from timestampName in Gen.Elements("timestamp", "timestamp", "time", "TIMESTAMP", "ts")
        from nameIt in Gen.Elements(false, true)
        from shuffle in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
        from damage in Gen.Frequency((12, Gen.Constant("none")), (1, Gen.Elements("duplicate column", "no timestamp", "bom", "crlf", "invalid utf-8", "blank line", "garbage row", "surrogate", "extra column", "quoted")))
        select BuildText(jsonl, counts, tokens, start, clock, steps, values, inTokens, outTokens, timestampName, nameIt, shuffle, damage);

    private static FileCase BuildText(bool jsonl, bool counts, int tokens, (Instant At, bool Sane) start, string clock, IList<(long Nanos, bool Sane)> steps,
        IList<(string Text, long Value, bool Sane)> values, IList<(string Text, long Value, bool Sane)> inTokens, IList<(string Text, long Value, bool Sane)> outTokens,
        string timestampName, bool nameIt, bool shuffle, string damage)
    {
        var rows = steps.Count;
        var stamps = new decimal[rows];
        var at = Nanos(start.At);
        for (var i = 0; i < rows; i++)
        {
            at += i == 0 ? 0 : steps[i].Nanos;
            stamps[i] = at;
        }

        var order = Enumerable.Range(0, rows).ToArray();
        if (shuffle && !counts)
        {
            Array.Reverse(order);
        }

        var columns = new List<string> { timestampName };
        if (counts)
        {
            columns.Add("requests");
        }

        if (tokens >= 1)
        {
            columns.Add("input_tokens");
        }

        if (tokens >= 2)
        {
            columns.Add("output_tokens");
        }

        if (damage == "extra column")
        {
            columns.Add("note");
        }

        if (damage == "duplicate column")
        {
            columns.Add(counts ? "Requests" : timestampName);
        }

        if (damage == "no timestamp")
        {
            columns[0] = "when";
        }

        var unitArgs = clock switch
        {
            "ms" => new[] { "--timestamp-unit", "ms" },
            "us" => ["--timestamp-unit", "us"],
            _ => [],
        };
        string Stamp(int i, bool json)
        {
            var nanos = stamps[i];
            if (clock is "seconds" or "ms" or "us")
            {
                var per = clock switch { "ms" => 1_000_000m, "us" => 1_000m, _ => 1_000_000_000m };
                return (nanos / per).ToString(CultureInfo.InvariantCulture);
            }

            var text = nanos < Nanos(Instant.FromUtc(1, 1, 1, 0, 0)) || nanos > Nanos(Instant.FromUtc(9999, 12, 31, 0, 0)) ? "not-a-time" : Iso(Instant.FromUnixTimeTicks((long)(nanos / 100)), clock);
            return json ? $"\"{text}\"" : text;
        }

        string Field(string column, int i, bool json) => column switch
        {
            "requests" or "Requests" => JsonValue(values[i].Text, json),
            "input_tokens" => JsonValue(inTokens[i].Text, json),
            "output_tokens" => JsonValue(outTokens[i].Text, json),
            "note" => json ? "\"a, \\\"quoted\\\" note\"" : "\"a, \"\"quoted\"\" note\"",
            _ => Stamp(i, json),
        };

        var text = new StringBuilder();
        var newline = damage == "crlf" ? "\r\n" : "\n";
        if (!jsonl)
        {
            text.Append(string.Join(',', columns)).Append(newline);
        }

        foreach (var i in order)
        {
            if (damage == "blank line" && i == rows / 2)
            {
                text.Append(newline);
            }

            if (jsonl)
            {
                var members = columns.Select(c => $"\"{c}\": {Field(c, i, json: true)}");
                text.Append("{ ").Append(string.Join(", ", members)).Append(damage == "surrogate" && i == 0 ? ", \"x\": \"\\ud800\"" : "").Append(" }").Append(newline);
            }
            else
            {
                var fields = columns.Select(c => damage == "quoted" ? $"\"{Field(c, i, json: false)}\"" : Field(c, i, json: false));
                text.Append(string.Join(',', fields)).Append(newline);
            }

            if (damage == "garbage row" && i == order[0])
            {
                text.Append(jsonl ? "[1, 2]" : "yesterday,,,").Append(newline);
            }
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        bytes = damage switch
        {
            "bom" => [0xEF, 0xBB, 0xBF, .. bytes],
            "invalid utf-8" => [.. bytes[..(bytes.Length / 2)], 0xC3, 0x28, .. bytes[(bytes.Length / 2)..]],
            _ => bytes,
        };

        var args = new List<string>(unitArgs);
        if (nameIt)
        {
            args.AddRange(["--timestamp-field", timestampName]);
        }

        var span = rows == 0 ? 0 : stamps.Max() - stamps.Min();
        var clean = rows > 0 && start.Sane && steps.Skip(1).All(s => s.Sane) && span < 60m * 365 * 86_400 * 1_000_000_000m
            && (!counts || values.All(v => v.Sane)) && (tokens < 1 || inTokens.All(v => v.Sane)) && (tokens < 2 || outTokens.All(v => v.Sane))
            && (timestampName != "ts" || nameIt) && damage is "none" or "bom" or "crlf" or "extra column" or "quoted";
        var requests = counts ? values.Sum(v => v.Value) : rows;
        var description = $"{(jsonl ? "jsonl" : "csv")} {(counts ? "interval counts" : "request log")}, {rows} rows from {start.At} ({clock}), damage: {damage}";
        return new FileCase(jsonl ? "log.jsonl" : "log.csv", bytes, [.. args], clean ? requests : null, description);
    }

    private static decimal Nanos(Instant instant) => instant.ToUnixTimeTicks() * 100m;

    private static string JsonValue(string text, bool json) =>
        !json ? text : long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) || text is "1.5" or "1e300" ? text : System.Text.Json.JsonSerializer.Serialize(text);

    private static string Iso(Instant instant, string clock) => clock switch
    {
        "offset" => OffsetDateTimePattern.ExtendedIso.Format(instant.WithOffset(Offset.FromHoursAndMinutes(5, 30))),
        "space" => InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd HH:mm:ss.FFFFFFFFF").Format(instant).TrimEnd('.'),
        _ => InstantPattern.ExtendedIso.Format(instant),
    };

    // ---------------------------------------------------------------- Parquet written by DuckDB

    private static readonly string[] TimestampTypes = ["TIMESTAMP", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMPTZ", "DATE", "BIGINT", "DOUBLE", "VARCHAR"];
    private static readonly string[] CleanTimestampTypes = ["TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMPTZ"];
    private static readonly string[] CountTypes = ["BIGINT", "BIGINT", "INTEGER", "SMALLINT", "UBIGINT", "HUGEINT", "DOUBLE", "VARCHAR", "STRUCT", "LIST"];

    public static Gen<ParquetCase> Parquet =>
        from rows in Gen.Frequency((1, Gen.Constant(0)), (10, Gen.Choose(1, 40)))
        from start in Base
        from steps in Gen.ListOf(Step, rows)
        from stampType in Gen.Elements(TimestampTypes)
        from counts in Gen.Elements(false, true)
        from countType in Gen.Elements(CountTypes)
        from values in Gen.ListOf(Gen.Frequency((10, Gen.Elements(0L, 1L, 5L, 100L, 2_000L).Select(v => (long?)v)), (1, Gen.Elements<long?>(-1L, long.MaxValue, null))), rows)
        from tokens in Gen.Elements(false, true)
        from shuffle in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
        from nullStamp in Gen.Frequency((15, Gen.Constant(false)), (1, Gen.Constant(true)))
        from rowGroup in Gen.Elements(1, 3, 1000)
        from metadata in Gen.Frequency((4, Gen.Constant("none")), (1, Gen.Elements("evenly spaced", "wrong interval", "bad interval")))
        select BuildParquet(rows, start, steps, stampType, counts, countType, values, tokens, shuffle, nullStamp, rowGroup, metadata);

    private static ParquetCase BuildParquet(int rows, (Instant At, bool Sane) start, IList<(long Nanos, bool Sane)> steps, string stampType, bool counts, string countType,
        IList<long?> values, bool tokens, bool shuffle, bool nullStamp, int rowGroup, string metadata)
    {
        var instants = new List<Instant?>();
        var at = start.At;
        var representable = true;
        for (var i = 0; i < rows; i++)
        {
            var step = i == 0 ? 0 : counts ? Math.Abs(steps[i].Nanos) + 1_000_000_000L : steps[i].Nanos;
            var next = Nanos(at) + step;
            if (next < Nanos(Instant.FromUtc(1, 1, 1, 0, 0)) || next > Nanos(Instant.FromUtc(9999, 12, 31, 0, 0)))
            {
                representable = false;
                break;
            }

            at += Duration.FromNanoseconds(step);
            instants.Add(at);
        }

        if (!representable)
        {
            instants = [.. Enumerable.Repeat<Instant?>(start.At, rows)];
        }

        if (nullStamp && rows > 0)
        {
            instants[rows / 2] = null;
        }

        var order = Enumerable.Range(0, rows).ToList();
        if (shuffle)
        {
            order = [.. order.Where(i => i % 2 == 1), .. order.Where(i => i % 2 == 0)];
        }

        string StampSql(Instant? instant) => instant is not { } i ? $"NULL::{stampType}" : stampType switch
        {
            "DATE" => $"DATE '{i.InUtc().Date.ToString("uuuu-MM-dd", CultureInfo.InvariantCulture)}'",
            "BIGINT" => $"{i.ToUnixTimeSeconds()}::BIGINT",
            "DOUBLE" => $"{i.ToUnixTimeSeconds()}::DOUBLE",
            "VARCHAR" => $"'{InstantPattern.ExtendedIso.Format(i)}'",
            "TIMESTAMPTZ" => $"'{InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd HH:mm:ss.FFFFFFFFF").Format(i).TrimEnd('.')}+00'::TIMESTAMPTZ",
            _ => $"'{InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd HH:mm:ss.FFFFFFFFF").Format(i).TrimEnd('.')}'::{stampType}",
        };

        string CountSql(long? value) => value is not { } v ? "NULL::BIGINT" : countType switch
        {
            "STRUCT" => $"{{'a': {v}}}",
            "LIST" => $"[{v}]",
            "VARCHAR" => $"'{v}'",
            _ => $"{v}::{countType}",
        };

        var selects = order.Select(i =>
        {
            var columns = new List<string> { $"{StampSql(instants[i])} AS timestamp" };
            if (counts)
            {
                columns.Add($"{CountSql(values[i])} AS requests");
            }

            if (tokens)
            {
                columns.Add($"{(i * 37) % 500}::BIGINT AS input_tokens");
            }

            return "SELECT " + string.Join(", ", columns);
        }).ToList();
        var select = rows == 0
            ? $"SELECT NULL::{stampType} AS timestamp{(counts ? $", {CountSql(0)} AS requests" : "")} WHERE false"
            : string.Join(" UNION ALL ", selects);
        var kv = metadata switch
        {
            "evenly spaced" => ", KV_METADATA { 'autoscale.evenly_spaced': 'true', 'autoscale.interval_ns': '1000000000' }",
            "wrong interval" => ", KV_METADATA { 'autoscale.evenly_spaced': 'true', 'autoscale.interval_ns': '60000000000' }",
            "bad interval" => ", KV_METADATA { 'autoscale.interval_ns': '-5' }",
            _ => "",
        };
        var stepsSane = steps.Skip(1).All(s => s.Sane);
        var distinctSeconds = instants.OfType<Instant>().Select(i => i.ToUnixTimeMilliseconds()).Distinct().Count() == rows;
        var clean = rows > 0 && representable && start.Sane && stepsSane && !nullStamp && metadata == "none" && CleanTimestampTypes.Contains(stampType)
            && (!counts || (countType is "BIGINT" or "INTEGER" && values.All(v => v is >= 0 and < 1_000_000) && distinctSeconds && !shuffle));
        var requests = counts ? (clean ? values.Sum(v => v ?? 0) : 0) : rows;
        var description = $"{rows} rows from {start.At}, timestamp {stampType}{(counts ? $", requests {countType}" : "")}, shuffled {shuffle}, metadata {metadata}, row groups of {rowGroup}";
        return new ParquetCase(select, $"FORMAT parquet, ROW_GROUP_SIZE {rowGroup}{kv}", clean ? requests : null, description);
    }

    // ---------------------------------------------------------------- trace synth

    public static Gen<SynthCase> Synth =>
        from duration in Gen.Frequency((6, Gen.Elements("90s", "15m", "1h", "6h", "1d", "3d")), (1, Gen.Elements("0s", "-1h", "99999999999w", "1.5x", "", "100000d")))
        from interval in Gen.Frequency((6, Gen.Elements("1s", "1s", "10s", "1m", "1h")), (1, Gen.Elements("0s", "0.5ms", "1ms", "2d", "-1s")))
        from rate in Gen.Frequency((6, Gen.Elements("0", "1", "100", "5000", "0.01")), (1, Gen.Elements("-5", "1e18", "NaN", "1e9", "Infinity")))
        from amplitude in Gen.Frequency((6, Gen.Elements("0", "0.5", "1")), (1, Gen.Elements("2", "-1", "NaN")))
        from weekend in Gen.Frequency((6, Gen.Elements("1", "0.5", "0")), (1, Gen.Elements("-1", "1e9")))
        from zone in Gen.Frequency((6, Gen.Elements("UTC", "Europe/Berlin", "Asia/Kolkata")), (1, Gen.Elements("Mars/Olympus", "")))
        from spikeCount in Gen.Choose(0, 2)
        from spikes in Gen.ListOf(Gen.Frequency(
            (6, Gen.Elements("at=+1h,width=10m,height=3x", "at=+0s,width=1s,height=+200", "at=2026-01-05T12:00:00Z,width=5m,height=2x,every=1d")),
            (1, Gen.Elements("at=+1h", "at=+1h,width=-1s,height=2x", "at=+1h,width=1h,height=1e300x", "at=+1h,width=1h,height=+1e300", "at=+1h,width=1h,height=2x,every=0s", "nonsense"))), spikeCount)
        from noise in Gen.Frequency((6, Gen.Elements("poisson", "none", "dispersion=2")), (1, Gen.Elements("dispersion=-1", "dispersion=1e300", "gaussian")))
        from seed in Gen.Frequency((6, Gen.Elements("1", "42")), (1, Gen.Elements("-1", "9223372036854775807", "x")))
        from start in Gen.Frequency((6, Gen.Elements("2026-01-05T00:00:00Z", "2026-03-29T00:30:00+01:00")), (1, Gen.Elements("2262-04-11T00:00:00Z", "1677-09-21T00:12:44Z", "1900-01-01T00:00:00Z", "9999-12-31T00:00:00Z", "yesterday")))
        from transform in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
        from scale in Gen.Frequency((6, Gen.Elements("1", "2.5", "0")), (1, Gen.Elements("-1", "1e7", "1e300")))
        from shift in Gen.Frequency((6, Gen.Elements("7d", "-1h", "0s")), (1, Gen.Elements("-300y", "99999999999w", "-400000d")))
        from repeat in Gen.Frequency((6, Gen.Elements("1", "3")), (1, Gen.Elements("0", "-1", "2000000000")))
        select new SynthCase(transform
            ? ["--from", TestPaths.TextbookTrace, "--scale", scale, "--shift", shift, "--repeat", repeat, "--seed", seed, .. spikes.SelectMany(s => new[] { "--spike", s })]
            : ["--start", start, "--duration", duration, "--interval", interval, "--mean-rps", rate, "--daily-amplitude", amplitude, "--weekend-factor", weekend,
               "--time-zone", zone, "--noise", noise, "--seed", seed, .. spikes.SelectMany(s => new[] { "--spike", s })]);
}

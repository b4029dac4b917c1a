using System.Globalization;
using System.Text;
using System.Text.Json;
using Autoscale.Traces;
using NodaTime.Text;

namespace Autoscale.Cli.Output;

/// <summary>A trace summary as text or JSON.</summary>
internal static class TraceSummaryText
{
    public static string Table(string path, TraceSummary s)
    {
        var ci = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(ci, $"file        {path}\n");
        text.Append(ci, $"shape       {(s.File.Shape == TraceShape.IntervalCounts ? "interval counts" : "request log")}, {s.File.Rows} rows\n");
        if (s.File.Interval is { } interval)
        {
            text.Append(ci, $"interval    {interval.TotalSeconds.ToString("R", ci)} s\n");
        }

        text.Append(ci, $"start       {InstantPattern.ExtendedIso.Format(s.Start)}\n");
        text.Append(ci, $"end         {InstantPattern.ExtendedIso.Format(s.End)}\n");
        text.Append(ci, $"requests    {s.Requests}\n");
        text.Append(ci, $"mean rate   {s.MeanRps.ToString("F3", ci)} req/s\n");
        text.Append(ci, $"peak rate   {s.PeakRps.ToString("F0", ci)} req/s over 1 s, {s.PeakRpsPerMinute.ToString("F3", ci)} req/s over 1 min\n");
        if (s.File.InputTokens is { } input)
        {
            text.Append(ci, $"tokens in   {input}\n");
        }

        if (s.File.OutputTokens is { } output)
        {
            text.Append(ci, $"tokens out  {output}\n");
        }

        if (s.ReusablePromptShare is { } share)
        {
            text.Append(ci, $"reusable    {share.ToString("P1", ci)} of prompt tokens (a perfect prefix cache)\n");
        }
        return text.ToString();
    }

    public static string Json(string path, TraceSummary s)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("file", path);
            json.WriteString("shape", s.File.Shape == TraceShape.IntervalCounts ? "intervalCounts" : "requestLog");
            json.WriteNumber("rows", s.File.Rows);
            if (s.File.Interval is { } interval)
            {
                json.WriteNumber("intervalSeconds", interval.TotalSeconds);
            }

            json.WriteString("start", InstantPattern.ExtendedIso.Format(s.Start));
            json.WriteString("end", InstantPattern.ExtendedIso.Format(s.End));
            json.WriteNumber("requests", s.Requests);
            json.WriteNumber("meanRps", Math.Round(s.MeanRps, 6));
            json.WriteNumber("peakRpsOver1s", s.PeakRps);
            json.WriteNumber("peakRpsOver1Min", Math.Round(s.PeakRpsPerMinute, 6));

            // The names before 0.4, kept so scripts that read them go on working: the same rates in req/s.
            json.WriteNumber("peakRps", s.PeakRps);
            json.WriteNumber("peakRpsPerMinute", Math.Round(s.PeakRpsPerMinute, 6));
            if (s.File.InputTokens is { } input)
            {
                json.WriteNumber("inputTokens", input);
            }

            if (s.File.OutputTokens is { } output)
            {
                json.WriteNumber("outputTokens", output);
            }

            if (s.ReusablePromptShare is { } share)
            {
                json.WriteNumber("reusablePromptShare", Math.Round(share, 6));
            }
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}

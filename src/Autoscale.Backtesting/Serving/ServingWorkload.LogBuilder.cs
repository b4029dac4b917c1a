using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>A request log read batch by batch into a workload.</summary>
public sealed partial class ServingWorkload
{
    private sealed class LogBuilder(string name, Instant start, ServingProfile profile, long seed)
    {
        private long[] _arrivals = new long[1024];
        private int[] _input = new int[1024];
        private int[] _output = new int[1024];
        private int _count;
        private Totals _totals;
        private readonly PrefixKeys.Builder _prefixes = new();

        public void Add(RequestBatch batch)
        {
            var first = _count;
            for (var i = 0; i < batch.ArrivalNanos.Length; i++)
            {
                if (_count >= MaxRequests)
                {
                    throw new ServingWorkloadException($"{name}: more than {MaxRequests:N0} requests; a request log is held in memory for a request-level replay: replay a part of it, or write it as interval counts");
                }

                if (_count == _arrivals.Length)
                {
                    var size = (int)Math.Min(MaxRequests, _arrivals.Length * 2L);
                    Array.Resize(ref _arrivals, size);
                    Array.Resize(ref _input, size);
                    Array.Resize(ref _output, size);
                }

                var arrival = batch.ArrivalNanos[i];
                var (input, output) = Tokens(profile, seed, _count, batch.InputTokens?[i], batch.OutputTokens?[i], name);
                Check(name, start, _count, arrival, input, output, profile);
                _arrivals[_count] = arrival;
                _input[_count] = (int)input;
                _output[_count] = (int)output;
                _totals.Add(input, output);
                _count++;
            }

            if (batch.Prefixes is { } prefixes)
            {
                _prefixes.Add(prefixes, _input.AsSpan(first, _count - first), name, first, drawn: batch.InputTokens is null);
            }
        }

        public ServingWorkload Build(Duration tick, long ticks) =>
            new(start, tick, ticks, profile, seed, _arrivals[.._count], _input[.._count], _output[.._count], null, null, null, _totals) { Prefixes = _prefixes.Build() };
    }
}

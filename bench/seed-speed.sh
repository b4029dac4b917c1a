#!/usr/bin/env bash
# Whole process against whole process: the seed's Code 23.6.1 (taken from the seed text at run time,
# arrivals(t) fed a per-second trace) against the published `autoscale backtest` on the same trace.
# Usage: bench/seed-speed.sh [days] [mean-rps]     (defaults: 30 days, 130 req/s)
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-30}; rps=${2:-130}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
seed=../shared/seed/cold-starts-and-warm-pools.txt

python3 bench/make_trace.py "$days" "$rps" "$work/counts.txt" "$work/counts.csv"
dotnet publish src/Autoscale.Cli -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$work/pub" >/dev/null
"$work/pub/Autoscale.Cli" trace import "$work/counts.csv" --out "$work/trace.parquet"
cat > "$work/config.json" <<'JSON'
{ "slo": { "maxWaitSeconds": 2, "targetPercent": 99.0 },
  "replica": { "capacityRps": 30, "gpus": 1, "dollarsPerGpuHour": 3.0 },
  "candidates": [ { "name": "cold-start autoscaling", "policy": "textbook",
                    "options": { "baseReplicas": 2, "spares": 0 }, "loadTime": { "fixedSeconds": 25 } } ] }
JSON

echo "== seed (python3), simulate(0, autoscale=True) on the trace"
/usr/bin/time -f "seed: %e s wall, %M KB" python3 bench/run_seed.py "$seed" "$work/counts.txt"
echo "== autoscale backtest (ReadyToRun), 3 runs"
for i in 1 2 3; do
  AUTOSCALE_TIMING=1 /usr/bin/time -f "autoscale: %e s wall, %M KB" "$work/pub/Autoscale.Cli" backtest \
    --trace "$work/trace.parquet" --config "$work/config.json" --format csv | tail -1 | cut -d, -f4,6,23 | sed 's/^/requests,late,endReplicas = /'
done

#!/usr/bin/env bash
# The cost of a cluster: the 30-day trace of seed-speed.sh against three candidates (textbook, reactive, warm-floor),
# without a cluster section and on two node pools (on-demand with a 4-minute provision, spot with reclaims) with
# replica crashes; native executable, whole process. Prints each time, peak memory and the ratio of the medians.
# Usage: bench/cluster-speed.sh [days] [mean-rps] [rounds] [native-dir]   (defaults: 30 days, 130 req/s, 5 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-30}; rps=${2:-130}; runs=${3:-5}; native=${4:-}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
rid=$(dotnet --info | awk '/^ RID:/ {print $2; exit}')

python3 bench/make_trace.py "$days" "$rps" "$work/counts.txt" "$work/counts.csv"
if [ -z "$native" ]; then
  dotnet publish src/Autoscale.Cli -c Release -r "$rid" -p:Native=true -o "$work/native" --nologo -v quiet >/dev/null
  native="$work/native"
fi
cli="$native/Autoscale.Cli"
"$cli" trace import "$work/counts.csv" --out "$work/trace.parquet" >/dev/null
candidates='[
  { "name": "textbook", "policy": "textbook", "options": { "baseReplicas": 2, "spares": 2 }, "loadTime": { "fixedSeconds": 90 } },
  { "name": "reactive", "policy": "reactive", "options": { "minReplicas": 1 }, "loadTime": { "fixedSeconds": 90 }, "decisionIntervalSeconds": 15 },
  { "name": "warm-floor", "policy": "warm-floor", "options": { "minReplicas": 4 }, "loadTime": { "fixedSeconds": 90 }, "decisionIntervalSeconds": 15 } ]'
settings='"slo": { "maxWaitSeconds": 2, "targetPercent": 99.0 }, "replica": { "capacityRps": 30, "gpus": 2, "dollarsPerGpuHour": 3.0 },'
echo "{ $settings \"candidates\": $candidates }" > "$work/plain.json"
cat > "$work/cluster.json" <<JSON
{ $settings
  "cluster": { "nodePools": [
      { "name": "on-demand", "gpusPerNode": 8, "dollarsPerNodeHour": 24.0, "provisionSeconds": 240, "emptyNodeScaleDownSeconds": 600 },
      { "name": "spot", "gpusPerNode": 8, "dollarsPerNodeHour": 9.6, "provisionSeconds": 240, "spot": true, "preemptionsPerNodeHour": 0.05, "emptyNodeScaleDownSeconds": 600 } ],
    "placement": { "onDemandBase": 2, "onDemandPercentAboveBase": 30 }, "replicaFailuresPerHour": 0.01 },
  "candidates": $candidates }
JSON

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for round in $(seq "$runs"); do
  for config in plain cluster; do
    /usr/bin/time -f "%e %M" -o "$work/t" "$cli" backtest --trace "$work/trace.parquet" --config "$work/$config.json" --format csv > "$work/$config.csv" 2>/dev/null
    read -r secs kb < "$work/t"; echo "$secs" >> "$work/$config.times"; echo "$config: $secs s, $kb KB peak"
  done
done
p=$(median < "$work/plain.times"); c=$(median < "$work/cluster.times")
echo "median of $runs runs: without a cluster $p s; on the cluster $c s; ratio $(awk -v p="$p" -v c="$c" 'BEGIN {printf "%.2f", c / p}')x"

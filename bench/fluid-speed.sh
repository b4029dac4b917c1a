#!/usr/bin/env bash
# The fluid serving replay's speed against the count model's: the bundled ServeGen 14 days against the seven candidates
# of examples/all-policies.json, once with the serving profile of examples/llm-serving-fluid.json (engine.serving
# "fluid") and once with its own capacityRps model; native executable, whole process, taken in turn. Prints each time,
# peak memory and the ratio of the medians, with all cores and on one (taskset -c 0).
# Usage: bench/fluid-speed.sh [rounds] [native-dir]   (defaults: 5 rounds; publishes the native executable when no dir)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}; native=${2:-}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
if [ -z "$native" ]; then
  rid=$(dotnet --info | awk '/^ RID:/ {print $2; exit}')
  dotnet publish src/Autoscale.Cli -c Release -r "$rid" -p:Native=true -o "$work/native" --nologo -v quiet >/dev/null
  native="$work/native"
fi
cli="$native/Autoscale.Cli"
trace=traces/servegen-m-large-14d.parquet
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
counts = json.load(open('examples/all-policies.json'))
fluid = json.load(open('examples/llm-serving-fluid.json'))
json.dump(counts, open(f'{work}/count.json', 'w'))
serving = dict(counts, slo=fluid['slo'], replica=fluid['replica'], engine=dict(counts.get('engine', {}), serving='fluid'))
json.dump(serving, open(f'{work}/fluid.json', 'w'))
PY

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for cores in all one; do
  pin=(); [ "$cores" = one ] && pin=(taskset -c 0)
  for round in $(seq "$runs"); do
    for config in fluid count; do
      /usr/bin/time -f "%e %M" -o "$work/t" "${pin[@]}" "$cli" backtest --trace "$trace" --config "$work/$config.json" --format csv > /dev/null 2>&1
      read -r secs kb < "$work/t"; echo "$secs" >> "$work/$config.$cores"; echo "$cores core(s), $config: $secs s, $kb KB peak"
    done
  done
  f=$(median < "$work/fluid.$cores"); c=$(median < "$work/count.$cores")
  echo "$cores core(s), median of $runs runs: fluid $f s; count $c s; ratio $(awk -v f="$f" -v c="$c" 'BEGIN {printf "%.2f", f / c}')x"
done

#!/usr/bin/env bash
# Whole process against whole process: the seed's Code 23.6.1 (taken from the seed text at run time,
# arrivals(t) fed a per-second trace) against the published native `autoscale backtest` on the same
# trace, with identical results. Prints each time and the ratio of the medians.
# Usage: bench/seed-speed.sh [days] [mean-rps] [rounds]     (defaults: 30 days, 130 req/s, 5 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-30}; rps=${2:-130}; runs=${3:-5}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
seed=../shared/seed/cold-starts-and-warm-pools.txt
rid=$(dotnet --info | awk '/^ RID:/ {print $2; exit}')

python3 bench/make_trace.py "$days" "$rps" "$work/counts.txt" "$work/counts.csv"
dotnet publish src/Autoscale.Cli -c Release -r "$rid" -p:Native=true -o "$work/native" --nologo -v quiet >/dev/null
cli="$work/native/Autoscale.Cli"
"$cli" trace import "$work/counts.csv" --out "$work/trace.parquet"
cp bench/seed-config.json "$work/config.json"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# The rounds interleave (one seed run, then three of ours) so that both see the same load on a shared machine.
for round in $(seq "$runs"); do
  /usr/bin/time -f "%e" -o "$work/t" python3 bench/run_seed.py "$seed" "$work/counts.txt" | sed 's/^/seed (total, late, ready) = /'
  cat "$work/t" | tee -a "$work/seed.times" | sed 's/^/seed: /; s/$/ s/'
  for i in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$work/t" "$cli" backtest --trace "$work/trace.parquet" --config "$work/config.json" --format csv \
      | awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
                 {print "autoscale (requests, late, endReplicas) = (" $c["requests"] ", " $c["late"] ", " $c["endReplicas"] ")"}'
    read -r secs kb < "$work/t"; echo "$secs" >> "$work/ours.times"; echo "autoscale (native): $secs s, $kb KB peak"
  done
done
s=$(median < "$work/seed.times"); o=$(median < "$work/ours.times")
echo "median of $runs seed runs: $s s; of $((3 * runs)) autoscale runs: $o s; ratio $(awk -v s="$s" -v o="$o" 'BEGIN {printf "%.0f", s / o}')x"

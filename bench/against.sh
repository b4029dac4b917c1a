#!/usr/bin/env bash
# Whole process against whole process, this checkout against an earlier commit: both published as native executables
# the same way, both run on the same per-second trace (the seed benchmark's, written by this checkout's `trace import`)
# with the seed's textbook config, in interleaved rounds so that both see the same load on a shared machine. Checks that
# both agree (requests, late, end replicas) and prints each one's median and fastest time and the ratio of the medians.
# Usage: bench/against.sh COMMIT [days] [mean-rps] [rounds]     (defaults: 30 days, 130 req/s, 41 rounds)
# Example: bench/against.sh c7ab5ea     (issue 35 asks for a median ratio of at most 0.55)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: bench/against.sh COMMIT [days] [mean-rps] [rounds]}
days=${2:-30}; rps=${3:-130}; rounds=${4:-41}
work=$(mktemp -d)
cleanup() { git worktree remove --force "$work/base-src" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
rid=$(dotnet --info | awk '/^ RID:/ {print $2; exit}')

python3 bench/make_trace.py "$days" "$rps" "$work/counts.txt" "$work/counts.csv"
dotnet publish src/Autoscale.Cli -c Release -r "$rid" -p:Native=true -o "$work/head" --nologo -v quiet >/dev/null
git worktree add --detach "$work/base-src" "$base" >/dev/null 2>&1
(cd "$work/base-src" && dotnet publish src/Autoscale.Cli -c Release -r "$rid" -p:Native=true -o "$work/base" --nologo -v quiet >/dev/null)
"$work/head/Autoscale.Cli" trace import "$work/counts.csv" --out "$work/trace.parquet" >/dev/null
cp bench/seed-config.json "$work/config.json"

# The figures both must agree on, by column name (a later build may print more columns).
figures() {
  "$1" backtest --trace "$work/trace.parquet" --config "$work/config.json" --format csv \
    | awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next} {print $c["requests"], $c["late"], $c["endReplicas"]}'
}
h=$(figures "$work/head/Autoscale.Cli"); b=$(figures "$work/base/Autoscale.Cli")
[ "$h" = "$b" ] || { echo "error: the builds disagree: this checkout (requests late endReplicas) $h, $base $b" >&2; exit 1; }
echo "both: requests, late, end replicas = $h"

run() {
  local from to
  from=$(date +%s%N)
  "$1" backtest --trace "$work/trace.parquet" --config "$work/config.json" --format csv >/dev/null
  to=$(date +%s%N)
  echo $(( (to - from) / 1000 ))
}
for _ in $(seq "$rounds"); do
  run "$work/head/Autoscale.Cli" >> "$work/head.times"
  run "$work/base/Autoscale.Cli" >> "$work/base.times"
done
stat() { sort -n "$1" | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.4f %.4f", m / 1e6, a[1] / 1e6}'; }
read -r hm hf <<< "$(stat "$work/head.times")"
read -r bm bf <<< "$(stat "$work/base.times")"
echo "this checkout: median $hm s, fastest $hf s"
echo "$base: median $bm s, fastest $bf s"
awk -v h="$hm" -v b="$bm" 'BEGIN {printf "ratio of the medians: %.2fx\n", h / b}'

#!/usr/bin/env bash
# Regenerates the BLIS reference cases in this folder (not run by the tests; they read the files it wrote).
# Needs BLIS b563c440 built with ../../../../../shared/tools/blis/build.sh lowidx (least-loaded ties to the lowest index).
# Each case: a Poisson workload with log-normal tokens (gen.py), replayed by BLIS on a fixed fleet with the linear
# step model (--latency-model blackbox, alpha 0); NAME.csv holds arrival_us,input,output and BLIS's ttft_us,e2e_us.
set -euo pipefail
BLIS=${BLIS:-$HOME/.cache/blis-build/blis-bb-lowidx}
here=$(cd "$(dirname "$0")" && pwd); work=$(mktemp -d)
case_() { # name seed n rate medIn medOut instances routing beta maxSeqs maxTokens kvBlocks block
  local name=$1 seed=$2 n=$3 rate=$4 mi=$5 mo=$6 inst=$7 routing=$8 beta=$9 seqs=${10} tokens=${11} kv=${12} block=${13}
  python3 "$here/gen.py" "$seed" "$n" "$rate" "$mi" "$mo" "$work/$name"
  "$BLIS" replay --trace-header "$work/$name.yaml" --trace-data "$work/$name.csv" --model dummy/linear --latency-model blackbox \
    --alpha-coeffs 0,0,0 --beta-coeffs "$beta" --max-num-running-reqs "$seqs" --max-num-scheduled-tokens "$tokens" \
    --total-kv-blocks "$kv" --block-size-in-tokens "$block" --routing-policy "$routing" --scheduler fcfs \
    --horizon 100000000000000 --seed 42 --num-instances "$inst" --results-path "$work/$name.json" > "$work/$name.out" 2>&1
  python3 - "$work/$name" "$here/$name.csv" <<'PY'
import json, sys
base, out = sys.argv[1], sys.argv[2]
rows = [l.split(',') for l in open(base + '.csv').read().splitlines()[1:]]
res = {r['request_id']: r for r in json.load(open(base + '.json'))}
with open(out, 'w') as f:
    f.write('arrival_us,input,output,ttft_us,e2e_us\n')
    for row in rows:
        i = int(row[0]); r = res.get(i)
        f.write(f"{row[19]},{row[9]},{row[10]},{r['ttft_us'] if r else -1},{r['e2e_us'] if r else -1}\n")
PY
  echo "{\"instances\": $inst, \"routing\": \"$routing\", \"betaMicros\": [${beta}], \"maxSequences\": $seqs, \"maxBatchedTokens\": $tokens, \"kvBlocks\": $kv, \"blockTokens\": $block}" > "$here/$name.json"
}
case_ rr2 7 2000 8 500 150 2 round-robin 5000,20,100 64 4096 62500 16
case_ ll3 11 1500 12 800 120 3 least-loaded 6000,15,120 32 2048 62500 16
case_ chunked1 5 400 2 3000 80 1 round-robin 4000,10,80 16 512 62500 16
case_ kvtight2 3 600 6 600 300 2 least-loaded 5000,20,100 64 4096 1000 16
rm -rf "$work"

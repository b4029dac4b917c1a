#!/usr/bin/env bash
# Regenerates the BLIS prefix-caching reference cases in this folder (not run by the tests; they read the files it wrote).
# Needs BLIS b563c440 built with ../../../../../shared/tools/blis/build.sh lowidx. Each case: a Poisson workload in prefix
# groups (gen-prefix.py) replayed by BLIS on a fixed fleet with the linear step model (alpha 0); BLIS caches prefixes
# always. NAME.csv holds arrival_us,input (prefix + own),output,ttft_us,e2e_us,group,prefix_tokens.
set -euo pipefail
BLIS=${BLIS:-$HOME/.cache/blis-build/blis-bb-lowidx}
here=$(cd "$(dirname "$0")" && pwd); work=$(mktemp -d)
case_() { # name seed n rate medIn medOut groups prefix instances routing beta maxSeqs maxTokens kvBlocks block
  local name=$1 seed=$2 n=$3 rate=$4 mi=$5 mo=$6 groups=$7 prefix=$8 inst=$9 routing=${10} beta=${11} seqs=${12} tokens=${13} kv=${14} block=${15}
  python3 "$here/gen-prefix.py" "$seed" "$n" "$rate" "$mi" "$mo" "$groups" "$prefix" "$work/$name"
  "$BLIS" replay --trace-header "$work/$name.yaml" --trace-data "$work/$name.csv" --model dummy/linear --latency-model blackbox \
    --alpha-coeffs 0,0,0 --beta-coeffs "$beta" --max-num-running-reqs "$seqs" --max-num-scheduled-tokens "$tokens" \
    --total-kv-blocks "$kv" --block-size-in-tokens "$block" --routing-policy "$routing" --scheduler fcfs \
    --horizon 100000000000000 --seed 42 --num-instances "$inst" --results-path "$work/$name.json" > "$work/$name.out" 2>&1
  python3 - "$work/$name" "$here/$name.csv" <<'PY'
import json, sys
base, out = sys.argv[1], sys.argv[2]
groups = [l.split(',') for l in open(base + '.groups').read().splitlines()]
res = {r['request_id']: r for r in json.load(open(base + '.json'))}
with open(out, 'w') as f:
    f.write('arrival_us,input,output,ttft_us,e2e_us,group,prefix_tokens\n')
    for i, g in enumerate(groups):
        r = res.get(i)
        f.write(f"{g[0]},{g[1]},{g[2]},{r['ttft_us'] if r else -1},{r['e2e_us'] if r else -1},{g[3]},{g[4]}\n")
PY
  grep -i "cache_hit\|preempt" "$work/$name.out" | head -3 || true
  echo "{\"instances\": $inst, \"routing\": \"$routing\", \"betaMicros\": [${beta}], \"maxSequences\": $seqs, \"maxBatchedTokens\": $tokens, \"kvBlocks\": $kv, \"blockTokens\": $block}" > "$here/$name.json"
}
case_ prefix2 21 1500 8 200 100 6 1024 2 least-loaded 5000,20,100 64 4096 62500 16
case_ prefix4 23 2000 16 200 100 8 1024 4 least-loaded 5000,20,100 64 4096 62500 16
case_ prefix4w 23 2000 16 200 100 8 1024 4 weighted 5000,20,100 64 4096 62500 16
case_ prefixkv2 29 800 6 300 200 6 1024 2 least-loaded 5000,20,100 64 4096 1500 16
rm -rf "$work"

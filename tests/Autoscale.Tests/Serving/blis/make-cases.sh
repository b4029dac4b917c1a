#!/usr/bin/env bash
# Regenerates the BLIS reference cases in this folder (not run by the tests; they read the files it wrote).
# Needs BLIS b563c440 built with ../../../../../shared/tools/blis/build.sh lowidx (least-loaded ties to the lowest index).
# Each case: a Poisson workload with log-normal tokens (gen.py), replayed by BLIS on a fixed fleet with the linear
# step model (--latency-model blackbox, alpha 0); NAME.csv holds arrival_us,input,output and BLIS's ttft_us,e2e_us.
# The prefix cases put the requests in prefix groups (BLIS caches prefixes always); their NAME.csv adds group and
# prefix_tokens, and input is the whole prompt.
set -euo pipefail
BLIS=${BLIS:-$HOME/.cache/blis-build/blis-bb-lowidx}
here=$(cd "$(dirname "$0")" && pwd); work=$(mktemp -d)
run_blis() { # name instances routing beta maxSeqs maxTokens kvBlocks block
  local name=$1 inst=$2 routing=$3 beta=$4 seqs=$5 tokens=$6 kv=$7 block=$8
  "$BLIS" replay --trace-header "$work/$name.yaml" --trace-data "$work/$name.csv" --model dummy/linear --latency-model blackbox \
    --alpha-coeffs 0,0,0 --beta-coeffs "$beta" --max-num-running-reqs "$seqs" --max-num-scheduled-tokens "$tokens" \
    --total-kv-blocks "$kv" --block-size-in-tokens "$block" --routing-policy "$routing" --scheduler fcfs \
    --horizon 100000000000000 --seed 42 --num-instances "$inst" --results-path "$work/$name.json" > "$work/$name.out" 2>&1
  python3 - "$work/$name" "$here/$name.csv" <<'PY'
import json, os, sys
base, out = sys.argv[1], sys.argv[2]
res = {r['request_id']: r for r in json.load(open(base + '.json'))}
grouped = os.path.exists(base + '.groups')
if grouped:
    rows = [l.split(',') for l in open(base + '.groups').read().splitlines()]
else:
    rows = [(r[19], r[9], r[10]) for r in (l.split(',') for l in open(base + '.csv').read().splitlines()[1:])]
with open(out, 'w') as f:
    f.write('arrival_us,input,output,ttft_us,e2e_us' + (',group,prefix_tokens' if grouped else '') + '\n')
    for i, row in enumerate(rows):
        r = res.get(i)
        tail = f",{row[3]},{row[4]}" if grouped else ""
        f.write(f"{row[0]},{row[1]},{row[2]},{r['ttft_us'] if r else -1},{r['e2e_us'] if r else -1}{tail}\n")
PY
  echo "{\"instances\": $inst, \"routing\": \"$routing\", \"betaMicros\": [${beta}], \"maxSequences\": $seqs, \"maxBatchedTokens\": $tokens, \"kvBlocks\": $kv, \"blockTokens\": $block}" > "$here/$name.json"
}
case_() { # name seed n rate medIn medOut instances routing beta maxSeqs maxTokens kvBlocks block
  python3 "$here/gen.py" "$2" "$3" "$4" "$5" "$6" "$work/$1"
  run_blis "$1" "${@:7}"
}
prefix_case_() { # name seed n rate medIn medOut groups prefix instances routing beta maxSeqs maxTokens kvBlocks block
  python3 "$here/gen.py" "$2" "$3" "$4" "$5" "$6" "$work/$1" "$7" "$8"
  run_blis "$1" "${@:9}"
}
# Prefill/decode pools: `blis replay` does not disaggregate, so `blis run` draws the requests (its distribution
# workload) and replays them, with PD_FLAGS (2 prefill + 2 decode instances, every request disaggregated) or on 4
# co-located instances; NAME.csv holds each request and BLIS's ttft_us, e2e_us (from --metrics-path, in microseconds).
# PD needs a model's config.json for the KV bytes a token moves: Llama-2-7B's 524,288 (32 layers x 2 x 4,096 x 2 bytes);
# at 8.192 GB/s a 16-token block moves in exactly 1,024 us.
pd_case_() { # name seed n rate meanIn meanOut instances pd(yes|no)
  local name=$1 seed=$2 n=$3 rate=$4 in=$5 out=$6 inst=$7 pd=$8
  local flags="--num-instances $inst"
  [ "$pd" = yes ] && flags="$flags --prefill-instances $((inst / 2)) --decode-instances $((inst / 2)) --pd-decider always --pd-transfer-bandwidth 8.192 --pd-transfer-base-latency 0.05"
  (cd "$work" && git --git-dir="${MIRROR:?set MIRROR to the inference-sim git folder}" archive b563c440 defaults.yaml hardware_config.json model_configs | tar -x \
    && "$BLIS" run --model meta-llama/llama-2-7b-hf --tp 1 --latency-model blackbox --alpha-coeffs 0,0,0 --beta-coeffs 5000,20,100 \
      --max-num-running-reqs 64 --max-num-scheduled-tokens 4096 --total-kv-blocks 62500 --block-size-in-tokens 16 --routing-policy least-loaded \
      --scheduler fcfs --workload distribution --rate "$rate" --num-requests "$n" --prompt-tokens "$in" --prompt-tokens-stdev $((in * 2 / 5)) \
      --prompt-tokens-min 10 --prompt-tokens-max $((in * 4)) --output-tokens "$out" --output-tokens-stdev $((out / 2)) --output-tokens-min 2 \
      --output-tokens-max $((out * 4)) --seed "$seed" $flags --trace-output "$name" --metrics-path "$name.metrics.json" > "$name.out" 2>&1)
  python3 - "$work/$name" "$here/$name.csv" <<'PY'
import csv, json, sys
base, out = sys.argv[1], sys.argv[2]
res = {int(r['requestID'].split('_')[1]): r for r in json.load(open(base + '.metrics.json'))['requests']}
with open(out, 'w') as f:
    f.write('arrival_us,input,output,ttft_us,e2e_us\n')
    for row in csv.DictReader(open(base + '.csv')):
        r = res.get(int(row['request_id']))
        us = lambda ms: round(ms * 1000)
        f.write(f"{row['arrival_time_us']},{row['input_tokens']},{row['output_tokens']},{us(r['ttft_ms']) if r else -1},{us(r['e2e_ms']) if r else -1}\n")
PY
  echo "{\"instances\": $inst, \"routing\": \"least-loaded\", \"betaMicros\": [5000, 20, 100], \"maxSequences\": 64, \"maxBatchedTokens\": 4096, \"kvBlocks\": 62500, \"blockTokens\": 16$([ "$pd" = yes ] && echo ", \"prefillInstances\": $((inst / 2)), \"bandwidthGBps\": 8.192, \"baseLatencyMicros\": 50, \"kvBytesPerToken\": 524288")}" > "$here/$name.json"
}
pd_case_ pd22 7 1000 20 500 100 4 yes
pd_case_ co4 7 1000 20 500 100 4 no
case_ rr2 7 2000 8 500 150 2 round-robin 5000,20,100 64 4096 62500 16
case_ ll3 11 1500 12 800 120 3 least-loaded 6000,15,120 32 2048 62500 16
case_ chunked1 5 400 2 3000 80 1 round-robin 4000,10,80 16 512 62500 16
case_ kvtight2 3 600 6 600 300 2 least-loaded 5000,20,100 64 4096 1000 16
prefix_case_ prefix2 21 1500 8 200 100 6 1024 2 least-loaded 5000,20,100 64 4096 62500 16
prefix_case_ prefix4 23 2000 16 200 100 8 1024 4 least-loaded 5000,20,100 64 4096 62500 16
prefix_case_ prefix4w 23 2000 16 200 100 8 1024 4 weighted 5000,20,100 64 4096 62500 16
prefix_case_ prefixkv2 29 800 6 300 200 6 1024 2 least-loaded 5000,20,100 64 4096 1500 16
rm -rf "$work"

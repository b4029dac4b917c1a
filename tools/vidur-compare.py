#!/usr/bin/env python3
"""Compares the hardware model's compute basis with Vidur's measured operator times (microsoft/vidur, MIT).

Vidur's data/profiling/compute/<gpu>/<org>/<model>/mlp.csv times each operator of one transformer layer (projections,
MLP, norms, activation, residual add) by number of tokens and tensor-parallel degree. Their sum over the layer, times
the model's layers, is the step's non-attention compute, which the hardware model writes as
prefillCompute x (FLOPs / peak). This prints, per model, GPU and TP, the factor the measurements imply (measured /
peak-FLOPs time, the median over 512 to 8,192 tokens) and the error of each calibration set's factor.

Usage: tools/vidur-compare.py VIDUR_REPO_DIR  (a checkout of microsoft/vidur; run from a clone with git show)
"""
import csv, io, statistics, subprocess, sys

PEAK = {"h100": 989.5e12, "a100": 312e12}
FACTORS = {"blis-trained-physics": 0.152128, "splitwise-2023": 0.37780327766570104}
# layers, hidden, intermediate, heads, kv heads, head dim (the catalogue's config.json fields)
MODELS = {
    "meta-llama/Llama-2-7b-hf": (32, 4096, 11008, 32, 32, 128),
    "meta-llama/Llama-2-70b-hf": (80, 8192, 28672, 64, 8, 128),
    "meta-llama/Meta-Llama-3-8B": (32, 4096, 14336, 32, 8, 128),
    "meta-llama/Meta-Llama-3-70B": (80, 8192, 28672, 64, 8, 128),
    "codellama/CodeLlama-34b-Instruct-hf": (48, 8192, 22016, 64, 8, 128),
}
OPS = ["input_layernorm", "attn_pre_proj", "attn_rope", "attn_post_proj", "post_attention_layernorm", "mlp_up_proj", "mlp_act", "mlp_down_proj", "add"]

def main(repo):
    print("| model | GPU | TP | measured / peak | error, blis-trained-physics | error, splitwise-2023 |")
    print("|---|---|---|---|---|---|")
    for gpu in ("h100", "a100"):
        for model, (L, d, ffn, h, kv, hd) in MODELS.items():
            path = f"data/profiling/compute/{gpu}/{model}/mlp.csv"
            try:
                text = subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], capture_output=True, text=True, check=True).stdout
            except subprocess.CalledProcessError:
                continue
            rows = list(csv.DictReader(io.StringIO(text)))
            for tp in sorted({int(r["num_tensor_parallel_workers"]) for r in rows}):
                ratios = []
                for r in rows:
                    tokens = int(r["num_tokens"])
                    if int(r["num_tensor_parallel_workers"]) != tp or not 512 <= tokens <= 8192:
                        continue
                    measured = sum(float(r[f"time_stats.{op}.median"]) for op in OPS) * L / 1e3
                    flops = L * 2 * (d * (2 * h * hd + 2 * kv * hd) + 3 * d * ffn) / tp * tokens
                    ratios.append(measured / (flops / PEAK[gpu]))
                if not ratios:
                    continue
                implied = statistics.median(ratios)
                errors = [abs(f - implied) / implied * 100 for f in FACTORS.values()]
                print(f"| {model.split('/')[1]} | {gpu.upper()} | {tp} | {implied:.2f} | {errors[0]:.0f} % | {errors[1]:.0f} % |")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

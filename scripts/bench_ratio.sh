#!/usr/bin/env bash
# Train-speed comparison: candle (`eerd bench train`) against PyTorch CPU (scripts/bench_torch.py)
# on the same model, batch and step, back to back, for each preset and thread count, several
# runs; prints every pair and a table of medians with the ratio candle / torch.
#
#   scripts/bench_ratio.sh [--presets 2m,8m,24m] [--threads 1,2] [--runs 3] \
#                          [--batch-size 4] [--seq-len 256] [--steps 10]
#
# PYTHON selects the interpreter with torch installed (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
presets=2m,8m,24m
threads=1,2
runs=3
pass=()
while (($#)); do
  case "$1" in
    --presets) presets=$2; shift 2 ;;
    --preset) presets=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --batch-size|--seq-len|--steps|--warmup|--vocab) pass+=("$1" "$2"); shift 2 ;;
    *) echo "bench_ratio.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
# Both processes keep freed memory instead of returning it to the kernel (eerd also sets this
# itself, see trainer/src/malloc.rs; PyTorch's CPU allocator gains from it as well).
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.mmap_threshold=2147483647:glibc.malloc.trim_threshold=4294967295}
python=${PYTHON:-python3}
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "bench_ratio.sh: $python cannot import torch; set PYTHON to an interpreter that can" >&2
  exit 2
fi
cargo build --quiet --release -p eerd-trainer --bin eerd
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for run in $(seq 1 "$runs"); do
  for preset in ${presets//,/ }; do
    for t in ${threads//,/ }; do
      candle=$(target/release/eerd bench train --json --preset "$preset" --threads "$t" "${pass[@]}")
      torch=$("$python" scripts/bench_torch.py --json --preset "$preset" --threads "$t" "${pass[@]}" 2>/dev/null)
      echo "{\"run\": $run, \"candle\": $candle, \"torch\": $torch}" >> "$results"
      "$python" - "$candle" "$torch" "$run" <<'PY'
import json, sys
c, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"run {sys.argv[3]}: {c['preset']:>4}, {c['threads']} thread(s): candle {c['tokens_per_s']:7.0f} tok/s, "
      f"torch {t['tokens_per_s']:7.0f} tok/s, candle/torch {c['tokens_per_s'] / t['tokens_per_s']:.2f}")
PY
    done
  done
done
"$python" - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
groups = {}
for r in rows:
    key = (r["candle"]["preset"], r["candle"]["threads"])
    groups.setdefault(key, []).append(r)
torch_version = rows[0]["torch"].get("version", "?")
print(f"\nmedians of {len(rows) // len(groups)} run(s); torch {torch_version}, candle kernels "
      f"{rows[0]['candle'].get('kernels', '?')}")
print("| preset | threads | candle tok/s | torch tok/s | candle / torch |")
print("|---|---:|---:|---:|---:|")
for (preset, threads), rs in groups.items():
    c = statistics.median(r["candle"]["tokens_per_s"] for r in rs)
    t = statistics.median(r["torch"]["tokens_per_s"] for r in rs)
    ratio = statistics.median(r["candle"]["tokens_per_s"] / r["torch"]["tokens_per_s"] for r in rs)
    print(f"| {preset} | {threads} | {c:,.0f} | {t:,.0f} | {ratio:.2f} |")
PY

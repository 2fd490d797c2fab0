#!/usr/bin/env bash
# Train-speed comparison: candle (`eerd bench train`) vs PyTorch CPU (scripts/bench_torch.py)
# on the same model, batch and step; prints both tok/s and the ratio candle / torch.
#
#   scripts/bench_ratio.sh [--preset 8m] [--batch-size 4] [--seq-len 256] [--steps 10] [--threads 1]
#
# PYTHON selects the interpreter with torch installed (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.mmap_threshold=2147483647:glibc.malloc.trim_threshold=4294967295}
candle=$(cargo run --quiet --release -p eerd-trainer --bin eerd -- bench train --json "${args[@]}")
torch=$("${PYTHON:-python3}" scripts/bench_torch.py --json "${args[@]}")
echo "$candle"
echo "$torch"
python3 - "$candle" "$torch" <<'PY'
import json, sys
c, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"candle {c['tokens_per_s']:.0f} tok/s, torch {t['tokens_per_s']:.0f} tok/s: "
      f"candle/torch = {c['tokens_per_s'] / t['tokens_per_s']:.2f}")
PY

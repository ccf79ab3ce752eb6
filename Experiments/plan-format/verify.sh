#!/usr/bin/env bash
# The second reader on every shipped plan, all 10,000 CIFAR-100 test images: Sibyl's fixed-point logits
# (sibyl test --logits) against Tests/python/sibyl_plan.py's, bit for bit. Needs `make build venv data`.
# Usage: [PLANS="Plans/a Plans/b"] bash Experiments/plan-format/verify.sh [IMAGES] > Experiments/plan-format/verify.log
# (from the repository root; all plans under Plans/ by default)
set -euo pipefail
images=${1:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for plan in ${PLANS:-Plans/*/}; do
  plan=${plan%/}
  [ -f "$plan/plan.json" ] || continue
  name=$(basename "$plan")
  .build/release/sibyl test --plan "$plan" --images "$images" --logits "$work/$name.npy" | sed -n 1p
  start=$(date +%s.%N)
  .venv/bin/python Tests/python/sibyl_plan.py "$plan" --data Datasets --images "$images" --out "$work/$name-py.npy"
  end=$(date +%s.%N)
  .venv/bin/python - "$work/$name.npy" "$work/$name-py.npy" "$name" "$start" "$end" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
same = a.shape == b.shape and bool((a == b).all())
print(f"{sys.argv[3]}: {a.shape[0]} images, python reader {'EQUAL bit for bit' if same else 'DIFFERENT'}"
      f" ({int((a != b).sum()) if a.shape == b.shape else 'shape'} logits differ), python {float(sys.argv[5]) - float(sys.argv[4]):.0f} s")
sys.exit(0 if same else 1)
PY
done

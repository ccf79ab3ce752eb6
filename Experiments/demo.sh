#!/usr/bin/env bash
# `make demo`: the whole toolkit end to end on real CIFAR-100, in about ten minutes on two cores.
#   1. train a ResNet-8 (all ReLU) briefly;
#   2. plan: population-based search for a hybrid with at most half the ReLUs;
#   3. export both as fixed-point plans;
#   4. evaluate both under the secure two-party protocol (client and server over TCP on 127.0.0.1);
#   5. print a short report.
# The figures of a short run say the machinery works end to end; the ResNet-32 results are in
# Experiments/secure-resnet32 and Experiments/planner-resnet32.
set -euo pipefail
cd "$(dirname "$0")/.."
SIBYL=${SIBYL:-.build/release/sibyl}
RUN=${DEMO_DIR:-runs/demo}
EPOCHS=${DEMO_EPOCHS:-3}
IMAGES=${DEMO_IMAGES:-5}
rm -rf "$RUN"
mkdir -p "$RUN"
start=$(date +%s)
step() { printf '\n== %s (%ds)\n' "$1" $(( $(date +%s) - start )); }

step "1/4 train ResNet-8 on CIFAR-100 for $EPOCHS epochs"
"$SIBYL" train --model resnet8 --dataset cifar100 --epochs "$EPOCHS" --batch-size 128 --lr 0.1 \
    --schedule onecycle --nesterov --label-smoothing 0.1 --out "$RUN/train"

step "2/4 plan: at most 40,000 of ResNet-8's 73,728 ReLUs (first and last slots stay ReLU)"
"$SIBYL" plan --baseline "$RUN/train/best.h5" --dataset cifar100 --population 4 --budget-epochs 2 \
    --rounds 2 --max-relus 40000 --out "$RUN/plan"

step "3/4 export the all-ReLU baseline and the chosen hybrid"
"$SIBYL" export --checkpoint "$RUN/train/best.h5" --out "$RUN/plans/relu" --accuracy-images 2000 \
    --calibration-images 128
"$SIBYL" export --checkpoint "$RUN/plan/best.h5" --placement "$RUN/plan/placement.json" \
    --out "$RUN/plans/hybrid" --accuracy-images 2000 --calibration-images 128

step "4/4 evaluate both securely on $IMAGES test images"
"$SIBYL" evaluate "$RUN/plans/relu" --images "$IMAGES" --json > "$RUN/relu.json"
"$SIBYL" evaluate "$RUN/plans/hybrid" --images "$IMAGES" --json > "$RUN/hybrid.json"
"$SIBYL" inspect "$RUN/plans/relu" --json > "$RUN/relu-plan.json"
"$SIBYL" inspect "$RUN/plans/hybrid" --json > "$RUN/hybrid-plan.json"

step "report"
python3 - "$RUN" <<'PY'
import json, sys
run = sys.argv[1]
print(f"{'plan':8} {'ReLUs':>7} {'float acc':>9} {'fixed acc':>9} {'secure':>7} {'=oracle':>7} "
      f"{'online s':>8} {'online MB':>9} {'LAN s':>6} {'WAN s':>6} {'offline s':>9} {'offline MB':>10}")
for name in ("relu", "hybrid"):
    e = json.load(open(f"{run}/{name}.json"))
    p = json.load(open(f"{run}/{name}-plan.json"))
    acc = {a["arithmetic"]: a["top1"] for a in p["accuracy"]}
    print(f"{name:8} {e['relus']:>7} {acc.get('float', float('nan')):>9.3f} {acc.get('fixed_point', float('nan')):>9.3f} "
          f"{e['accuracy']:>7.2f} {e['agreement_with_oracle']:>7.2f} {e['online']['seconds']:>8.3f} "
          f"{e['online']['bytes'] / 1e6:>9.2f} {e['online']['latency_lan']:>6.3f} {e['online']['latency_wan']:>6.3f} "
          f"{e['offline']['seconds']:>9.2f} {e['offline']['bytes'] / 1e6:>10.1f}")
print("float/fixed acc: test accuracy of the plan in the clear (2,000 images); secure: accuracy of the "
      "securely evaluated images; =oracle: share of them whose secure logits equal the fixed-point oracle's.")
PY
printf '\ndemo finished in %ds; files in %s\n' $(( $(date +%s) - start )) "$RUN"

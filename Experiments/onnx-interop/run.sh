#!/usr/bin/env bash
# ONNX interop on the shipped networks (issue 16). Run from the repository root after `make build venv data`:
#   bash Experiments/onnx-interop/run.sh          (work files in runs/onnx; the log is results/run.log)
set -euo pipefail
unset OPENBLAS_CORETYPE
SIBYL=${SIBYL:-.build/release/sibyl}
PY=.venv/bin/python
TOOL=Tests/python/onnx_interop.py
W=runs/onnx
mkdir -p $W
step() { echo; echo "## $*"; }

step "1. The shipped ResNet-32 baseline as ONNX, evaluated by ONNX Runtime on the 10,000 test images"
$SIBYL export --onnx $W/resnet32.onnx --checkpoint Plans/baselines/resnet32-cifar100/model.h5
$SIBYL test --checkpoint Plans/baselines/resnet32-cifar100/model.h5 --float-logits $W/baseline-logits.npy
$PY $TOOL cifar $W/resnet32.onnx Datasets $W/baseline-logits.npy

step "2. Round trip: import the file back; the checkpoint's logits are identical to the baseline's (cmp)"
$SIBYL import $W/resnet32.onnx --out $W/roundtrip --force
$SIBYL test --checkpoint $W/roundtrip/model.h5 --float-logits $W/roundtrip-logits.npy
cmp $W/baseline-logits.npy $W/roundtrip-logits.npy && echo "identical logits (10000 x 100 float64 .npy, byte for byte)"

step "3. The PyTorch form: batch norms folded into convolution biases, torch-style node names; imported"
$PY $TOOL fold $W/resnet32.onnx $W/resnet32-pytorch-form.onnx
$SIBYL import $W/resnet32-pytorch-form.onnx --out $W/pytorch-form --force
$SIBYL test --checkpoint $W/pytorch-form/model.h5 --float-logits $W/pytorch-form-logits.npy
$PY $TOOL cifar $W/resnet32-pytorch-form.onnx Datasets $W/pytorch-form-logits.npy

step "4. The imported network exported as a plan and evaluated securely, like a trained one"
$SIBYL export --checkpoint $W/pytorch-form/model.h5 --fractional-bits 12 --out $W/plan-imported --force
$SIBYL evaluate $W/plan-imported --images 2 --json

step "5. The all-polynomial and per-channel plans' float networks in ONNX Runtime (first 1,000 test images)"
for plan in resnet32-cifar100-poly resnet32-cifar100-channels-45056; do
  $SIBYL export --onnx $W/$plan.onnx --plan Plans/$plan
  $SIBYL test --plan Plans/$plan --images 1000 --float-logits $W/$plan-logits.npy
  $PY $TOOL cifar $W/$plan.onnx Datasets $W/$plan-logits.npy
  $SIBYL import $W/$plan.onnx --out $W/imported-$plan --force
done

step "6. A search starts from the imported network (a 0.05-epoch probe: it shows the baseline it reads, not a result)"
rm -rf $W/plan-probe
$SIBYL plan --baseline $W/pytorch-form/model.h5 --dataset cifar100 --population 2 --budget-epochs 0.1 --rounds 1 \
  --max-relus 200000 --out $W/plan-probe --seed 1

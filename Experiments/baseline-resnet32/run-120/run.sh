#!/usr/bin/env bash
# Issue 11's payoff run: the all-ReLU baseline's command with 120 epochs, on the direct convolution kernels.
# Resumable at epoch boundaries: the first run here copies the committed checkpoint (epoch 44 when committed)
# into runs/resnet32-baseline-120 unless that directory already holds a later one. NICE=N sets its priority.
cd "$(dirname "$0")/../../.."
unset OPENBLAS_CORETYPE
OUT=runs/resnet32-baseline-120
if [ ! -f $OUT/checkpoint.h5 ]; then
  mkdir -p $OUT && cp Experiments/baseline-resnet32/run-120/checkpoint.h5 Experiments/baseline-resnet32/run-120/metrics.jsonl $OUT/
fi
exec nice -n ${NICE:-0} ${SIBYL:-.build/release/sibyl} train --model resnet32 --dataset cifar100 --epochs 120 --batch-size 128 \
  --lr 0.1 --schedule onecycle --nesterov --label-smoothing 0.1 --weight-decay 5e-4 --seed 1 --out $OUT --resume

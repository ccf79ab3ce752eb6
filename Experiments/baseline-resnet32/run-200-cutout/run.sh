#!/usr/bin/env bash
# Issue 11's payoff, second attempt: the baseline's recipe over 200 epochs (the issue's cap) with cutout
# (DeVries and Taylor 2017, an 8x8 square), against the overfitting of the 120-epoch run (train 94.6%, test
# 69.10%). Resumable at epoch boundaries across sessions: the first run here copies the committed
# checkpoint (when one is committed) into runs/resnet32-cutout-200 unless that directory already holds one.
# NICE=N sets its priority, SIBYL=PATH the binary (a copy, so that rebuilds do not touch a running epoch).
cd "$(dirname "$0")/../../.."
unset OPENBLAS_CORETYPE
HERE=Experiments/baseline-resnet32/run-200-cutout
OUT=runs/resnet32-cutout-200
if [ ! -f $OUT/checkpoint.h5 ] && [ -f $HERE/checkpoint.h5 ]; then
  mkdir -p $OUT && cp $HERE/checkpoint.h5 $HERE/metrics.jsonl $OUT/
fi
RESUME=""; [ -f $OUT/checkpoint.h5 ] && RESUME=--resume
exec nice -n ${NICE:-0} ${SIBYL:-.build/release/sibyl} train --model resnet32 --dataset cifar100 --epochs 200 --batch-size 128 \
  --lr 0.1 --schedule onecycle --nesterov --label-smoothing 0.1 --weight-decay 5e-4 --cutout 8 --seed 1 --out $OUT $RESUME

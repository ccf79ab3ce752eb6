#!/usr/bin/env bash
# Issue 11's fallback check: does training on the direct AVX-512 kernels learn what the im2col + OpenBLAS
# path learns? Four 10-epoch runs of the baseline's recipe (one-cycle over 10 epochs), kernels auto
# (direct) and portable (im2col + OpenBLAS), seeds 1, 2 and 3, each tested on the 10,000 test images.
# Resumable: a finished run (its test.json) is skipped, an interrupted one resumes from its checkpoint.
# NICE=N sets the priority; SIBYL=PATH the binary (default .build/release/sibyl).
cd "$(dirname "$0")/../../.."
unset OPENBLAS_CORETYPE
B=${SIBYL:-.build/release/sibyl}
for seed in 1 2 3; do for k in auto portable; do
  d=runs/kernels10-$k-seed$seed
  R=""; [ -f $d/checkpoint.h5 ] && R="--resume"
  if [ ! -f $d/test.json ]; then
    nice -n ${NICE:-0} $B train --model resnet32 --dataset cifar100 --epochs 10 --batch-size 128 --lr 0.1 \
      --schedule onecycle --nesterov --label-smoothing 0.1 --weight-decay 5e-4 --seed $seed --kernels $k \
      --out $d $R || exit 1
    nice -n ${NICE:-0} $B test --checkpoint $d/checkpoint.h5 --dataset cifar100 --split test --json > $d/test.json.tmp \
      && mv $d/test.json.tmp $d/test.json
  fi
done; done

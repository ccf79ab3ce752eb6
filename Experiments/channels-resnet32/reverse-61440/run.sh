#!/usr/bin/env bash
# Issue 14: per-channel search from the all-polynomial network, giving ReLU channels back (61,440 ReLUs).
cd "$(dirname "$0")/../../.."
unset OPENBLAS_CORETYPE
R=""; [ -f runs/reverse-61440/search.jsonl ] && R="--resume"
exec nice -n 5 .build/release/sibyl plan --baseline Experiments/polynomials-resnet32/annealed.h5 --dataset cifar100 \
  --pinned none --channels --distill 0 --lr-range 0.001:0.01 --momentum-range 0.85:0.95 --seed 1 \
  --out runs/reverse-61440 --population 2 --budget-epochs 8 --max-relus 61440 --degrees 4 $R "$@"

#!/usr/bin/env bash
# Issue 14: from the all-polynomial network, give ReLU channels back gradually (--reverse-blend) up to
# 102,400 ReLUs, then anneal 2 epochs. Resumable: run it again after an interruption. SIBYL=PATH runs another
# binary (a copy, so that rebuilding does not touch the running one), NICE=N its priority.
cd "$(dirname "$0")/../../.."
unset OPENBLAS_CORETYPE
R=""; [ -f runs/reverse-blend-102400/search.jsonl ] && R="--resume"
exec nice -n ${NICE:-0} ${SIBYL:-.build/release/sibyl} plan --baseline Experiments/polynomials-resnet32/annealed.h5 --dataset cifar100 \
  --pinned none --channels --reverse-blend --distill 0 --lr-range 0.001:0.01 --momentum-range 0.85:0.95 --seed 1 \
  --out runs/reverse-blend-102400 --population 2 --budget-epochs 8 --max-relus 102400 --degrees 4 --anneal-epochs 2 $R "$@"
